// telemq storage: a read-only view of one partition directory, for any
// thread, while the partition's owner (another shard) appends to it.
//
// Replay from a broker time, and a session backlog read back from an offset:
//
//   auto reader = PartitionReader::Open(Env::Posix(), "data/p3");
//   uint64_t from = *(*reader)->OffsetForTime(since_ns);
//   std::unique_ptr<LogReader> r = *(*reader)->ReadFrom(from);
//   Record rec;
//   while (*r->Next(&rec)) { ... rec.offset, rec.key, rec.value ... }
//   // false: the end of what is complete now. Later: Next again for more of
//   // the same segment, or Refresh() and ReadFrom(r->position()) to follow
//   // new segments.
//
// What it reads: the segment files as the directory lists them at Open or
// the last Refresh, and in them only complete batches whose header and
// payload CRCs check. It never writes, and shares nothing with the owner's
// Partition (no lock, no memory): it sees the files, nothing else.
//
//   - The last listed segment is the active one (the owner may be writing
//     it): the first byte of it that is missing, zero (preallocated), torn or
//     half copied ends a read for now, never an error, and nothing of a
//     partially written batch is returned. A complete batch with good CRCs
//     that is misplaced or misframed is damage (kDataLoss), as in recovery.
//   - Closed segments are read up to their trusted .idx's covered bytes, or
//     their file size without one; any stop before that is kDataLoss.
//   - A record may be returned as soon as its batch is in the file, which can
//     be before the owner's written_offset (it has not seen the write
//     complete yet) and before durable_offset: a caller that must not see
//     records a power loss could take back passes the owner's durable offset
//     as `limit`.
//   - Retention: an offset below start_offset() is kOutOfRange ("deleted by
//     retention"), and so is a segment removed after the last Refresh, when a
//     read or search reaches it; a reader that already opened a segment file
//     keeps reading it (POSIX unlink semantics).
//   - Recovery: open readers after the owner's Partition::Open has returned;
//     a partition being recovered (truncated, quarantined) may read as damage.
//
// Thread: every method may be called from any thread, concurrently. A
// LogReader it returns is independent of it (it may outlive it) and is used
// by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/env.h"
#include "storage/partition.h"

namespace telemq::storage {

class PartitionReader {
 public:
  // Lists `dir` (Refresh). Fails when it cannot be listed; an empty
  // directory is a partition with no records yet.
  static absl::StatusOr<std::unique_ptr<PartitionReader>> Open(Env* env, const std::string& dir);
  ~PartitionReader();
  PartitionReader(const PartitionReader&) = delete;
  PartitionReader& operator=(const PartitionReader&) = delete;

  // Lists the segment files again: new segments (rolls), segments removed by
  // retention, and the .idx of segments closed since. Loads each closed
  // segment's index once (it is trusted only when it decodes, covers exactly
  // the segment file's size and ends at or below the next segment's base);
  // readers and searches already running keep the list they started with.
  absl::Status Refresh();

  // The base offset of the oldest segment listed (0 when there is none).
  uint64_t start_offset() const;

  // Records at offsets in [from, limit), in offset order, up to the end of
  // what is complete when the reader gets there (see above); `from` need not
  // be written yet. kOutOfRange when `from` is below start_offset().
  absl::StatusOr<std::unique_ptr<LogReader>> ReadFrom(uint64_t from,
                                                      uint64_t limit = UINT64_MAX) const;

  // The first offset whose record time is >= timestamp_ns, or the end of
  // what is complete now when there is none. Uses each closed segment's
  // index to skip it (its newest record is older) or to start near the
  // answer, then scans at most the rest of one segment; a closed segment
  // without a trusted index, and the active one, are scanned from byte 0.
  absl::StatusOr<uint64_t> OffsetForTime(int64_t timestamp_ns) const;

  const std::string& dir() const { return dir_; }

 private:
  struct Listing;
  PartitionReader(Env* env, std::string dir);
  std::shared_ptr<const Listing> listing() const;

  Env* const env_;
  const std::string dir_;
  mutable absl::Mutex mu_;
  // Replaced whole by Refresh; readers hold on to the one they started with.
  std::shared_ptr<const Listing> listing_ ABSL_GUARDED_BY(mu_);
};

}  // namespace telemq::storage
