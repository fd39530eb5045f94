// telemq: for tests and fuzz targets of ShardLog: performs its write
// requests synchronously, the way the shard does with io_uring.
#pragma once

#include <cerrno>
#include <cstdint>

#include "broker/persist/shard_log.h"

namespace telemq::persist::testing {

// Performs the log's next write request (write, then fdatasync when it asks
// for one) and reports the result; false when no request is ready.
inline bool PerformNextWrite(ShardLog& log) {
  const storage::WriteRequest* w = log.PrepareWrite();
  if (w == nullptr) return false;
  int64_t written = 0;
  if (!w->iov.empty()) {
    written = w->file->Write(w->position, w->iov).ok() ? static_cast<int64_t>(w->bytes) : -EIO;
  }
  int synced = 0;
  if (w->sync) synced = written < 0 ? -ECANCELED : (w->file->Sync().ok() ? 0 : -EIO);
  log.CompleteWrite(written, synced);
  return true;
}

}  // namespace telemq::persist::testing
