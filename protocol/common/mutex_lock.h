// telemq: a scoped absl::Mutex lock that ThreadSanitizer understands.
//
// Debian's Abseil is a prebuilt library without TSan instrumentation, so TSan
// does not see the happens-before edges absl::Mutex creates and reports every
// section it guards as a race. MutexLock adds the edges by hand under TSan and
// is exactly absl::MutexLock otherwise. Use it wherever threads share a mutex.
//
//   absl::Mutex mu;
//   int n ABSL_GUARDED_BY(mu);
//   { MutexLock lock(&mu); ++n; }
#pragma once

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

#if defined(__SANITIZE_THREAD__)
#define TELEMQ_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TELEMQ_TSAN 1
#endif
#endif

#ifdef TELEMQ_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace telemq {

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(absl::Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
#ifdef TELEMQ_TSAN
    __tsan_acquire(mu_);
#endif
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() {
#ifdef TELEMQ_TSAN
    __tsan_release(mu_);
#endif
    mu_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  absl::Mutex* const mu_;
};

}  // namespace telemq
