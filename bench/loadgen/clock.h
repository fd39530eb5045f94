// telemq-bench: the one clock every timestamp uses (CLOCK_MONOTONIC, ns).
// Publisher and subscriber run in the same process, so payload timestamps and
// receive times are directly comparable. clock_gettime is a vDSO call, not a
// syscall; the loop still reads it once per batch, not once per message.
#pragma once

#include <time.h>

#include <cstdint>

namespace telemq::bench {

inline uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace telemq::bench
