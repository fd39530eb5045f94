#include "storage/segment_preparer.h"

#include <sys/uio.h>

#include <algorithm>
#include <memory>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/file_names.h"

namespace telemq::storage {
namespace {

constexpr size_t kChunkBytes = 1 << 20;
constexpr uint64_t kChunksPerSync = 4;
// Read-only zeroes for the writes (in .bss: no memory until touched, and
// then the shared zero page).
const char kZeroes[kChunkBytes] = {};

}  // namespace

SegmentPreparer::SegmentPreparer(Env* env, const std::string& dir, uint64_t bytes)
    : env_(env), path_(JoinPath(dir, kPreparedFileName)), bytes_(bytes) {}

SegmentPreparer::~SegmentPreparer() {
  cancel_.store(true, std::memory_order_relaxed);
  Join();
}

void SegmentPreparer::Join() {
  if (thread_.joinable()) thread_.join();
}

void SegmentPreparer::Start() {
  // Not after a failure until TakeError has reported it.
  if (state_.load(std::memory_order_acquire) != State::kIdle) return;
  Join();  // a finished thread
  state_.store(State::kRunning, std::memory_order_relaxed);
  try {
    thread_ = std::thread([this] { Fill(); });
  } catch (const std::system_error& e) {  // no thread to be had (EAGAIN): report, do without
    error_ = absl::ResourceExhaustedError(absl::StrCat("preparing the next segment (", path_,
                                                       "): no thread: ", e.what(),
                                                       "; segments are created unfilled"));
    state_.store(State::kFailed, std::memory_order_release);
  }
}

void SegmentPreparer::Fill() {
  absl::Status s;
  if (env_->Exists(path_)) s = env_->Remove(path_);
  absl::StatusOr<std::unique_ptr<File>> file;
  if (s.ok()) {
    file = env_->Open(path_, OpenMode::kCreateFresh);
    s = file.status();
  }
  for (uint64_t pos = 0; s.ok() && pos < bytes_; pos += kChunkBytes) {
    if (cancel_.load(std::memory_order_relaxed)) return;  // state stays kRunning: owner is gone
    const iovec iov{.iov_base = const_cast<char*>(kZeroes),
                    .iov_len = static_cast<size_t>(std::min<uint64_t>(kChunkBytes, bytes_ - pos))};
    s = (*file)->Write(pos, {&iov, 1});
    // Synced as it goes, so that the disk sees small writes, not one 64 MiB burst
    // that the log's own fdatasyncs would queue behind.
    if (s.ok() && (pos / kChunkBytes) % kChunksPerSync == kChunksPerSync - 1) s = (*file)->Sync();
  }
  if (s.ok()) s = (*file)->Sync();
  if (s.ok()) {
    state_.store(State::kReady, std::memory_order_release);
    return;
  }
  if (file.ok()) file->reset();                                // closed before the removal
  if (env_->Exists(path_)) env_->Remove(path_).IgnoreError();  // the error below says enough
  error_ = absl::Status(
      s.code(), absl::StrCat("preparing the next segment (", path_, ", zero-filled to ", bytes_,
                             " bytes): ", s.message(), "; segments are created unfilled"));
  state_.store(State::kFailed, std::memory_order_release);
}

absl::StatusOr<bool> SegmentPreparer::Take(const std::string& path) {
  if (state_.load(std::memory_order_acquire) != State::kReady) return false;
  Join();
  state_.store(State::kIdle, std::memory_order_relaxed);
  if (env_->Exists(path)) {
    return absl::AlreadyExistsError(absl::StrCat("segment ", path, " exists already"));
  }
  if (absl::Status s = env_->Rename(path_, path); !s.ok()) return s;
  return true;
}

void SegmentPreparer::WaitIdle() { Join(); }

absl::Status SegmentPreparer::TakeError() {
  if (state_.load(std::memory_order_acquire) != State::kFailed) return absl::OkStatus();
  Join();
  state_.store(State::kIdle, std::memory_order_relaxed);
  return std::exchange(error_, absl::OkStatus());
}

}  // namespace telemq::storage
