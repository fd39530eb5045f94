// telemq storage: one log partition, the append-only log of one shard.
//
// A partition is a directory of segments (docs/log_format.md). Records are
// appended into an open batch; the owner performs group commit by asking for
// one write request per loop turn and reporting its outcome:
//
//   RecoveryReport report;
//   auto p = Partition::Open(Env::Posix(), {.dir = "data/p0"}, &report);
//   uint64_t off = *(*p)->Append(kTypeMessage, "a/b", {value}, now_ns);
//   if (const WriteRequest* w = (*p)->PrepareWrite(/*sync=*/true)) {
//     ... io_uring: WRITEV(w->file->fd(), w->iov, w->position) linked to
//         FSYNC(DATASYNC) when w->sync ...
//     (*p)->CompleteWrite(bytes_or_minus_errno, sync_result);
//   }
//   if ((*p)->durable_offset() > off) { ... the record survives a crash ... }
//
// What the watermarks promise (all exclusive, all only grow):
//   next_offset     the offset the next Append returns;
//   written_offset  every record below it is in its segment file (it survives
//                   the process being killed, not a power loss);
//   durable_offset  every record below it is written and fdatasync'ed, and the
//                   segment's directory entry is synced (it survives a power
//                   loss, as far as the device honours fdatasync).
// At most one write request is in flight. Appends continue while it is (the
// next batch fills meanwhile, in other buffers: those of the request never
// move). A failed or short write, or a failed sync, makes the partition
// fail-stop: failure() says why, and Append and PrepareWrite refuse from
// then on. Nothing is ever retried and assumed safe.
//
// Segment roll: a batch that would take the active segment past
// segment_bytes goes to a new segment. The last request to the old segment
// always syncs (a sync-only request if its last write went out without), and
// the PrepareWrite after it creates the new segment file synchronously
// (open O_EXCL, fallocate, fsync of the directory: a few milliseconds once
// per segment, on the calling thread) before handing out its first write.
// With prepare_segments the new segment is instead a zero-filled file
// prepared in the background, renamed into place, and the old one is
// truncated to its data.
//
// After Open, every recovered record is durable: next_offset, written_offset
// and durable_offset are equal.
//
// Thread: one thread (the owning shard's) for everything, or a single thread
// before the shard starts (recovery, tools). Not internally synchronised.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/batch_format.h"
#include "storage/env.h"

namespace telemq::storage {

struct PartitionOptions {
  std::string dir;  // created (with parents) if missing
  // A batch that would take the active segment past this goes to a new one.
  uint64_t segment_bytes = 64ull << 20;
  // A sparse index entry at least every this many segment bytes.
  uint32_t index_interval_bytes = 64u << 10;
  // An open batch is closed once its encoding reaches this size (a write
  // request may carry several batches).
  size_t max_batch_bytes = 1u << 20;
  bool preallocate = true;  // fallocate(KEEP_SIZE) each new segment
  // Zero-fill the next segment's file on a background thread once the
  // active one is an eighth full (an unprepared one: 1 MiB, and it is then
  // left early), and roll into it (segment_preparer.h):
  // fdatasync of overwritten blocks skips the journal commit that appending
  // costs. Off by default (a thread per partition); the broker turns it on.
  bool prepare_segments = false;
  // Open scans only the last segment and those whose index is missing or
  // stale; with this, every segment (slower start, full verification).
  bool verify_all_segments = false;
};

// What Open found and did; every field is also in ToString().
struct RecoveryReport {
  struct Quarantined {
    std::string file;        // the renamed "<name>.log.corrupt"
    uint64_t lost_from = 0;  // offsets [lost_from, lost_to) may be lost
    uint64_t lost_to = 0;
    std::string reason;  // e.g. "payload crc mismatch at byte 1048624"
  };
  uint32_t segments = 0;
  uint64_t bytes_scanned = 0;
  uint64_t start_offset = 0;  // oldest offset in the partition
  uint64_t next_offset = 0;
  uint64_t torn_bytes = 0;  // cut from the tail of the last segment
  std::string torn_reason;
  uint32_t indexes_rebuilt = 0;
  std::vector<Quarantined> quarantined;
  double seconds = 0;

  // "partition data/p0: 3 segments, 201326592 bytes scanned in 0.180 s, offsets
  // [0, 1500000); torn tail: 311 bytes cut (truncated payload); ..."
  std::string ToString(const std::string& dir) const;
};

// One write (plus optional sync) to perform. Owned by the partition; valid,
// with every buffer `iov` points to, until CompleteWrite.
struct WriteRequest {
  File* file = nullptr;     // the segment written; file->fd() for io_uring
  uint64_t position = 0;    // file position of the first byte
  std::vector<iovec> iov;   // empty for a sync-only request
  size_t bytes = 0;         // total of iov
  bool sync = false;        // fdatasync after the write
  uint64_t end_offset = 0;  // records below are covered once it completes
};

// A closed or active segment, for tools, retention and replay.
struct SegmentInfo {
  std::string path;
  uint64_t base_offset = 0;
  uint64_t end_offset = 0;  // exclusive
  uint64_t bytes = 0;
  int64_t first_timestamp_ns = 0;  // 0 when empty
  int64_t max_timestamp_ns = 0;
  bool active = false;
};

struct RetentionPolicy {
  uint64_t max_bytes = 0;  // total size of the partition; 0 = unlimited
  int64_t max_age_ns = 0;  // by broker time: a closed segment whose newest record is older goes
  // Records at or above this offset are still needed (persistent sessions'
  // backlogs, state not yet re-written). Segments holding them are kept,
  // unless `force` (the disk is about to fill), and then reported as lost.
  uint64_t needed_from = UINT64_MAX;
  bool force = false;
};

struct RetentionResult {
  uint32_t deleted_segments = 0;
  uint64_t deleted_bytes = 0;
  uint64_t start_offset = 0;  // oldest offset left
  // Segments the policy wanted gone but that were kept because they hold
  // needed records (not forced).
  uint32_t kept_needed_segments = 0;
  // Forced: needed offsets deleted anyway, [lost_from, lost_to); empty if none.
  uint64_t lost_from = 0;
  uint64_t lost_to = 0;
  // Not OK when a segment could not be removed: it and every later one are
  // kept (the partition itself stays usable).
  absl::Status status;
};

// Reads records in offset order from a start offset up to a limit fixed at
// creation (the partition's written_offset then). Reads ahead in large
// blocks; validates every batch as recovery does (CRCs, framing).
class LogReader {
 public:
  virtual ~LogReader() = default;
  // True with *out filled (its views valid until the next call), false at
  // the limit, or an error naming the file, the position and the damage.
  virtual absl::StatusOr<bool> Next(Record* out) = 0;
  // The offset of the record the next call returns.
  virtual uint64_t position() const = 0;
};

class Partition {
 public:
  // Opens (or creates) the partition and recovers it as docs/log_format.md
  // says: scans the last segment (and any with a bad index), truncates a
  // torn tail, quarantines damage before the tail, rebuilds indexes, and
  // starts a new segment when the last one is damaged or full. Fails only
  // when the directory cannot be used at all (a message says which file and
  // why) or the options are out of range (segment_bytes in [1, 2 GiB],
  // index_interval_bytes and max_batch_bytes > 0); damage is repaired and
  // reported, not refused. `report` may be null.
  static absl::StatusOr<std::unique_ptr<Partition>> Open(Env* env, const PartitionOptions& options,
                                                         RecoveryReport* report);
  // Writes the active segment's index. Does not sync: call FlushNow(true)
  // first for a clean shutdown. Must not run with a write request in flight
  // (its buffers go with the partition).
  ~Partition();
  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;

  // Appends a record whose value is the concatenation of `value_parts`
  // (copied) and returns its offset. kInvalidArgument for a record too large
  // for a batch; kFailedPrecondition once the partition has failed.
  absl::StatusOr<uint64_t> Append(uint8_t type, std::string_view key,
                                  std::span<const std::string_view> value_parts,
                                  int64_t timestamp_ns);
  absl::StatusOr<uint64_t> Append(uint8_t type, std::string_view key, std::string_view value,
                                  int64_t timestamp_ns) {
    return Append(type, key, std::span<const std::string_view>(&value, 1), timestamp_ns);
  }

  uint64_t next_offset() const;
  uint64_t written_offset() const;
  uint64_t durable_offset() const;
  uint64_t start_offset() const;
  bool write_in_flight() const;
  // Appended records not yet handed out in a write request.
  bool has_unwritten() const;
  // Written records not yet synced.
  bool has_unsynced() const;

  // Group commit: closes the open batch and returns one request covering
  // every pending batch bound for the active segment (a roll may leave the
  // rest for the next call), with a sync when `sync` is set or when the
  // request is the last one to a segment being closed. With nothing to
  // write but unsynced data and `sync`, a sync-only request. nullptr when a
  // request is in flight, when there is nothing to do, or after failure.
  const WriteRequest* PrepareWrite(bool sync);
  // The outcome of the request in flight: the write's result (bytes written,
  // or -errno; 0 for a sync-only request) and, if it synced, the sync's (0 or
  // -errno; -ECANCELED when a linked sync did not run). Advances the
  // watermarks or fails the partition; fewer bytes than requested is a short
  // write and fails it too. Ignored when no request is in flight.
  void CompleteWrite(int64_t write_result, int sync_result);
  bool failed() const;
  absl::Status failure() const;

  // PrepareWrite / File::Write / File::Sync / CompleteWrite until nothing is
  // pending, synchronously: for tests, tools and shutdown. kFailedPrecondition
  // while the owner has a request in flight; failure() once failed.
  absl::Status FlushNow(bool sync);

  // Records in [from, written_offset()) as of now. `from` below
  // start_offset() is an error (kOutOfRange: deleted by retention), and so is
  // `from` beyond written_offset(). Offsets lost to a quarantine (a gap
  // between segments) are skipped. The reader opens its own files and does
  // not reference the partition; a segment retention deletes before the
  // reader reaches it reads as kOutOfRange. (PartitionReader reads the same
  // directory from other threads.)
  absl::StatusOr<std::unique_ptr<LogReader>> NewReader(uint64_t from) const;
  // The first offset whose record time is >= timestamp_ns, or next_offset()
  // when there is none (uses the sparse index, then scans).
  absl::StatusOr<uint64_t> OffsetForTime(int64_t timestamp_ns) const;

  // Segment preparation (prepare_segments): the error of a preparation that
  // failed, once (the partition then creates segments unfilled, as with the
  // option off, until this is called), and a wait for the one running.
  absl::Status TakePreparationError();
  void WaitForPreparation();

  std::vector<SegmentInfo> Segments() const;  // oldest first; the last is active
  uint64_t size_bytes() const;                // written bytes of all segments
  // Deletes whole closed segments, oldest first, as the policy says.
  RetentionResult ApplyRetention(const RetentionPolicy& policy, int64_t now_ns);

  const std::string& dir() const;

 private:
  class Impl;
  explicit Partition(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace telemq::storage
