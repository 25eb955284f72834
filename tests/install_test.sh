#!/usr/bin/env bash
# `cmake --install` into a temporary prefix gives a working ipcbench away from the source tree:
# the binary finds its installed suites, the man page renders, bash completes its subcommands and
# options, and the report tool finds its package.   install_test.sh BUILD_DIR
set -euo pipefail
build="${1:?usage: install_test.sh BUILD_DIR}"
prefix="$(mktemp -d /tmp/ipcb-install-XXXXXX)"
trap 'rm -rf "$prefix"' EXIT
fail() { echo "install test: $*" >&2; exit 1; }
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/ipcbench bin/ipcreport share/man/man1/ipcbench.1 \
         share/bash-completion/completions/ipcbench share/ipcbench/suites/default.toml \
         share/ipcbench/reports/__main__.py; do
  [ -e "$prefix/$f" ] || fail "$f was not installed"
done
cd "$prefix"  # away from the source tree
out="$("$prefix/bin/ipcbench" --version)" || fail "--version failed"
[[ "$out" == ipcbench\ * ]] || fail "--version printed '$out'"
# The installed binary reads the installed suites: a marker suite put there is found by name.
printf 'name = "installed-marker"\nworkloads = ["pingpong"]\nbackends = ["pipe"]\nsyncs = ["all"]\nsizes = ["64"]\n' \
  > "$prefix/share/ipcbench/suites/installed-marker.toml"
"$prefix/bin/ipcbench" run --suite installed-marker --dry-run | tail -1 | grep -q "^3 runs" ||
  fail "the installed binary does not read PREFIX/share/ipcbench/suites"
"$prefix/bin/ipcbench" run --suite quick --dry-run >/dev/null || fail "run --suite quick"
head -1 "$prefix/share/man/man1/ipcbench.1" | grep -q '^\.TH IPCBENCH 1' || fail "man page header"
grep -q -- '--dry-run' "$prefix/share/man/man1/ipcbench.1" || fail "man page lacks run's options"
if command -v groff >/dev/null; then
  groff -man -Tutf8 "$prefix/share/man/man1/ipcbench.1" >/dev/null 2>&1 || fail "man page renders"
fi
# bash completion: subcommands, run's options, and --backend's values.
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ipcbench;
           printf "%s\n" "${COMPREPLY[@]}"' _ "$prefix/share/bash-completion/completions/ipcbench" "$@"
}
complete_words ipcbench "" | grep -qx conform || fail "completion of subcommands"
complete_words ipcbench run --dry | grep -qx -- --dry-run || fail "completion of run's options"
complete_words ipcbench run --backend posix_ | grep -qx posix_shm || fail "completion of backends"
# The report tool finds its installed package.
"$prefix/bin/ipcreport" --help >/dev/null 2>&1 || [ $? -eq 3 ] || fail "ipcreport --help"
echo "install test: ok ($prefix)"
