# Writes OUT: a C++ file whose embedded_checklist() returns the text of IN (checklist.tsv), so
# an installed ipcbench needs no source tree for `ipcbench conform --checklist`.
file(READ "${IN}" text)
set(content "// Generated from checklist.tsv by embed_checklist.cmake: do not edit.
#include \"suites/conformance/runner_internal.h\"

namespace ipcb::runner {
const std::string& embedded_checklist() {
  static const std::string kText = R\"ipcb_checklist(${text})ipcb_checklist\";
  return kText;
}
}  // namespace ipcb::runner
")
file(WRITE "${OUT}" "${content}")
