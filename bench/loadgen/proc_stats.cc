#include "bench/loadgen/proc_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace telemq::bench {
namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

absl::StatusOr<ProcSample> ParseProcFiles(const std::string& stat, const std::string& status,
                                          long ticks_per_second) {
  // The command name (field 2) is in parentheses and may hold spaces: split
  // after the last ')'. Field 3 (state) is then the first token.
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return absl::DataLossError("malformed /proc/<pid>/stat");
  std::vector<absl::string_view> f =
      absl::StrSplit(absl::string_view(stat).substr(paren + 1), ' ', absl::SkipEmpty());
  // f[0] is field 3, so utime (field 14) is f[11], stime (15) is f[12].
  uint64_t utime, stime;
  if (f.size() < 13 || !absl::SimpleAtoi(f[11], &utime) || !absl::SimpleAtoi(f[12], &stime)) {
    return absl::DataLossError("malformed /proc/<pid>/stat");
  }
  ProcSample s;
  s.cpu_ns = (utime + stime) * (1'000'000'000u / static_cast<uint64_t>(ticks_per_second));
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (line.substr(0, 6) != "VmRSS:") continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line.substr(6), absl::ByAnyChar(" \t"), absl::SkipEmpty());
    uint64_t kb;
    if (parts.empty() || !absl::SimpleAtoi(parts[0], &kb)) {
      return absl::DataLossError("malformed VmRSS line");
    }
    s.rss_bytes = kb * 1024;
  }
  return s;
}

absl::StatusOr<ProcSample> SampleProcess(pid_t pid) {
  std::string stat, status;
  const std::string dir = absl::StrCat("/proc/", pid, "/");
  if (!ReadFile(dir + "stat", &stat) || !ReadFile(dir + "status", &status)) {
    return absl::NotFoundError(absl::StrCat("process ", pid, " not found"));
  }
  return ParseProcFiles(stat, status, sysconf(_SC_CLK_TCK));
}

ProcSample SampleSelf() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  auto ns = [](const timeval& tv) {
    return static_cast<uint64_t>(tv.tv_sec) * 1'000'000'000u +
           static_cast<uint64_t>(tv.tv_usec) * 1000u;
  };
  ProcSample s;
  s.cpu_ns = ns(ru.ru_utime) + ns(ru.ru_stime);
  if (auto self = SampleProcess(getpid()); self.ok()) s.rss_bytes = self->rss_bytes;
  return s;
}

}  // namespace telemq::bench
