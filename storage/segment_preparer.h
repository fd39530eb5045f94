// telemq storage: the next segment file, zero-filled ahead of time.
//
// fdatasync after writing into space a file has only reserved (appending
// past its size, or into fallocate'd extents) also commits the file system
// journal: the size and extent changes. After overwriting blocks that are
// already written it flushes data only. On this machine's ext4 a 16 KiB
// io_uring write linked to fdatasync took 352-397 us appending into
// fallocate(KEEP_SIZE) space and 231-246 us overwriting zeroes
// (docs/log_format.md, "Preallocation"). So while the active segment fills,
// a background thread writes the next segment's file full of zeroes and syncs
// it; the roll renames it into place. Readers and recovery already read
// zeroes as the end of data.
//
//   SegmentPreparer prep(env, "data/p0", 64 << 20);
//   prep.Start();                       // returns at once
//   ...
//   absl::StatusOr<bool> taken = prep.Take("data/p0/00000000000000052113.log");
//   if (taken.ok() && !*taken) { ... not ready: create the segment as before ... }
//
// The file being prepared is <dir>/next.zero (FileKind::kPrepared); one left
// by a crash is removed on the next open.
//
// Thread: Start, Take, WaitIdle and TakeError from the owner's thread only;
// the filling runs on a thread of its own that touches nothing but that file.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/env.h"

namespace telemq::storage {

class SegmentPreparer {
 public:
  SegmentPreparer(Env* env, const std::string& dir, uint64_t bytes);
  // Stops a preparation in progress (between two 1 MiB writes) and joins it;
  // the half-written file stays for the next open to remove.
  ~SegmentPreparer();
  SegmentPreparer(const SegmentPreparer&) = delete;
  SegmentPreparer& operator=(const SegmentPreparer&) = delete;

  // Starts preparing a file unless one is being prepared or ready, or a
  // failure waits for TakeError.
  void Start();
  // Renames the ready file to `path` (which must not exist: kAlreadyExists)
  // and returns true; false when none is ready. The caller syncs the
  // directory.
  absl::StatusOr<bool> Take(const std::string& path);
  // Blocks until no preparation is running (tests, shutdown).
  void WaitIdle();
  // The error of the last preparation that failed, once (OK otherwise); its
  // file is removed, and Start tries again only after this call.
  absl::Status TakeError();

  bool ready() const { return state_.load(std::memory_order_acquire) == State::kReady; }

 private:
  enum class State : uint8_t { kIdle, kRunning, kReady, kFailed };

  void Fill();  // the preparing thread
  void Join();

  Env* const env_;
  const std::string path_;
  const uint64_t bytes_;
  std::thread thread_;
  // The owner reads error_ only after seeing kFailed (acquire), which the
  // thread stores after writing it (release).
  std::atomic<State> state_{State::kIdle};
  std::atomic<bool> cancel_{false};
  absl::Status error_;
};

}  // namespace telemq::storage
