// telemq-bench: strerror for worker threads. strerror() may share a static
// buffer between threads; the GNU strerror_r returns a pointer to either a
// static string or the caller's buffer, both safe to copy.
#pragma once

#include <string.h>

#include <string>

namespace telemq::bench {

inline std::string ErrnoText(int err) {
  char buf[128];
  return strerror_r(err, buf, sizeof(buf));
}

}  // namespace telemq::bench
