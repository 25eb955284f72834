// The CLI's shared helpers (see cli_common.h).
#include "harness/cli/cli_common.h"

#include <cstdlib>

#include <cmath>

#include <cerrno>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <ctime>

#include "harness/sys/sys.h"

namespace ipcb {

int usage_error(const std::string& line) {
  std::fprintf(stderr, "ipcbench: %s\n", line.c_str());
  return kExitUsage;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::vector<std::string> split_all(const std::vector<std::string>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) {
    auto parts = split(s);
    out.insert(out.end(), parts.begin(), parts.end());
  }
  return out;
}

Status prepare_out_dir(const std::string& dir) {
  if (dir.empty()) return plain_error("--out ''", "the output folder needs a name");
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      std::string prefix = dir.substr(0, i);
      if (auto made = sys::make_dir(prefix, 0755); !made) {
        return Error{"mkdir", prefix, made.error().err, "the output folder cannot be created"};
      }
    }
  }
  std::string probe = dir + "/.ipcbench-write-test";
  auto fd = sys::open_file(probe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!fd) return Error{"open", probe, fd.error().err, "the output folder is not writable"};
  fd->reset();
  return sys::unlink_path(probe);
}

Result<CpuChoice> choose_cpus(const std::string& pin) {
  auto allowed = sys::allowed_cpus();
  if (pin.empty()) {
    if (allowed.empty()) return CpuChoice{};
    return CpuChoice{allowed[0], allowed.size() >= 2 ? allowed[1] : -1, {}};
  }
  auto parts = split(pin);
  if (parts.size() != 2) return plain_error("--pin '" + pin + "'", "expected two CPUs, e.g. 0,1");
  int cpus[2];
  for (int i = 0; i < 2; ++i) {
    char* end = nullptr;
    long v = std::strtol(parts[static_cast<size_t>(i)].c_str(), &end, 10);
    if (*end != '\0' || v < 0 ||
        std::find(allowed.begin(), allowed.end(), static_cast<int>(v)) == allowed.end()) {
      return plain_error("--pin '" + pin + "'", "CPU " + parts[static_cast<size_t>(i)] +
                                                    " is not one this process may run on");
    }
    cpus[i] = static_cast<int>(v);
  }
  if (cpus[0] == cpus[1]) {
    return plain_error("--pin '" + pin + "'",
                       "give two different CPUs; --placement same runs both "
                       "sides on the first");
  }
  return CpuChoice{cpus[0], cpus[1], {}};
}

std::string utc_now() {
  char buf[32];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<uint64_t> parse_bytes(const std::string& text, const char* flag) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  int shift = 0;
  if (end != nullptr && *end != '\0') {
    std::string suffix = end;
    const std::string units = "KMGT";
    auto u = suffix.size() == 1 ? units.find(static_cast<char>(std::toupper(suffix[0])))
                                : std::string::npos;
    if (u == std::string::npos) {
      return plain_error(std::string(flag) + " '" + text + "'", "expected bytes, e.g. 256M");
    }
    shift = 10 * (static_cast<int>(u) + 1);
  }
  if (end == text.c_str() || v == 0 || v > (UINT64_MAX >> shift)) {
    return plain_error(std::string(flag) + " '" + text + "'", "expected bytes, e.g. 256M");
  }
  return static_cast<uint64_t>(v) << shift;
}

Result<int64_t> parse_int(const std::string& text, const char* flag, int64_t lo, int64_t hi) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
    return plain_error(
        std::string(flag) + " '" + text + "'",
        "expected a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  return static_cast<int64_t>(v);
}

Result<double> parse_seconds(const std::string& text, const char* flag, double lo, double hi) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v) || v <= lo || v > hi) {
    char range[96];
    std::snprintf(range, sizeof range, "expected seconds, more than %g and at most %g", lo, hi);
    return plain_error(std::string(flag) + " '" + text + "'", range);
  }
  return v;
}

void skip_probed(const limits::Limits& l, Expansion& ex) {
  std::vector<BenchSpec> keep;
  for (auto& sp : ex.specs) {
    std::string why =
        limits::probed_size_limit(l, sp.backend, sizeof(FrameHeader) + sp.payload_bytes);
    if (why.empty()) {
      keep.push_back(std::move(sp));
    } else {
      ex.skipped.push_back({sp.name(), why});
    }
  }
  ex.specs = std::move(keep);
}

Result<sys::Fd> lock_out_dir(const std::string& dir) {
  std::string path = dir + "/.ipcbench.lock";
  IPCB_TRY(sys::Fd fd, sys::open_file(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return errno_error("flock", path);
    auto other = sys::read_all(fd.get(), path);
    std::string pid = other ? *other : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return plain_error("--out " + dir, "another ipcbench run" +
                                           (pid.empty() ? std::string() : " (pid " + pid + ")") +
                                           " is writing into this folder; wait for it or "
                                           "choose another --out");
  }
  std::string me = std::to_string(::getpid()) + "\n";
  IPCB_TRY_STATUS(sys::ftruncate_fd(fd.get(), 0, path));
  IPCB_TRY_STATUS(sys::write_full(fd.get(), std::as_bytes(std::span(me)), path));
  return fd;
}

void ProbeArgs::add_to(CLI::App* app) {
  app->add_option("--max-probe-bytes", max_probe_bytes,
                  "memory a limit probe may touch at once (K, M, G: powers of 1024)")
      ->capture_default_str();
  app->add_flag("--no-probe", no_probe, "configured limits only: the probes create nothing");
}

Result<limits::Options> ProbeArgs::options() const {
  IPCB_TRY(uint64_t cap, parse_bytes(max_probe_bytes, "--max-probe-bytes"));
  if (cap < 64 * 1024) return plain_error("--max-probe-bytes " + max_probe_bytes, "at least 64K");
  limits::Options o;
  o.max_probe_bytes = cap;
  o.probe = !no_probe;
  return o;
}

std::string wrap(const std::string& first, const std::string& text, size_t width,
                 const std::string& indent) {
  std::string out = first, line = first;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find(' ', i);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(i, end - i);
    const bool fresh = line == first || line == indent;
    if (!fresh && line.size() + 1 + word.size() > width) {
      out += "\n" + indent;
      line = indent;
    } else if (!fresh) {
      out += " ";
      line += " ";
    }
    out += word;
    line += word;
    i = end + 1;
  }
  return out;
}

}  // namespace ipcb
