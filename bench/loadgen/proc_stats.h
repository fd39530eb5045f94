// telemq-bench: CPU time and resident memory of a process, from /proc, and
// of this process, from getrusage.
//
//   ProcSample a = SampleProcess(pid).value();  ... ;  ProcSample b = ...;
//   double cpu_seconds = b.cpu_ns - a.cpu_ns;   // user + system
//
// A sample is a snapshot; callers difference two of them over a window.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace telemq::bench {

struct ProcSample {
  uint64_t cpu_ns = 0;     // utime + stime
  uint64_t rss_bytes = 0;  // VmRSS
};

// Reads /proc/<pid>/stat (fields 14, 15) and /proc/<pid>/status (VmRSS).
// NotFound when the process is gone.
absl::StatusOr<ProcSample> SampleProcess(pid_t pid);

// This process: getrusage(RUSAGE_SELF) user + system time; RSS from /proc/self.
ProcSample SampleSelf();

// Parses the text of /proc/<pid>/stat and /proc/<pid>/status (for tests).
absl::StatusOr<ProcSample> ParseProcFiles(const std::string& stat, const std::string& status,
                                          long ticks_per_second);

}  // namespace telemq::bench
