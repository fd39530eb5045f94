// errno_text.h: the text of an errno value, safe on any thread.
//
// strerror() may share a static buffer between threads (glibc marks it
// MT-Unsafe), and both the broker's shards and the load generator's workers
// log errors. The GNU strerror_r returns a pointer to either a static string
// or the caller's buffer, both safe to copy.
//
//   TELEMQ_LOG(kWarning, "accept failed: %s", ErrnoText(err));
#pragma once

#include <string.h>

#include <string>

namespace telemq {

inline std::string ErrnoText(int err) {
  char buf[128];
  return strerror_r(err, buf, sizeof(buf));
}

}  // namespace telemq
