// telemq storage: the state behind Partition (internal to storage/).
//
// Split over partition.cc (append, group commit, fail-stop), log_reader.cc
// (NewReader, OffsetForTime) and retention.cc (Segments, ApplyRetention).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "storage/partition.h"
#include "storage/pending_batches.h"
#include "storage/recovery.h"
#include "storage/segment.h"
#include "storage/segment_preparer.h"

namespace telemq::storage {

class Partition::Impl {
 public:
  Impl(Env* env, const PartitionOptions& options, RecoveredPartition recovered);
  ~Impl();

  absl::StatusOr<uint64_t> Append(uint8_t type, std::string_view key,
                                  std::span<const std::string_view> value_parts,
                                  int64_t timestamp_ns);
  const WriteRequest* PrepareWrite(bool sync);
  void CompleteWrite(int64_t write_result, int sync_result);
  absl::Status FlushNow(bool sync);

  absl::StatusOr<std::unique_ptr<LogReader>> NewReader(uint64_t from) const;
  absl::StatusOr<uint64_t> OffsetForTime(int64_t timestamp_ns) const;
  std::vector<SegmentInfo> Segments() const;
  uint64_t size_bytes() const;
  RetentionResult ApplyRetention(const RetentionPolicy& policy, int64_t now_ns);
  absl::Status TakePreparationError();
  void WaitForPreparation();

  uint64_t next_offset() const { return pending_.next_offset(); }
  uint64_t written_offset() const { return written_offset_; }
  uint64_t durable_offset() const { return durable_offset_; }
  uint64_t start_offset() const { return segments_.front().base_offset(); }
  bool write_in_flight() const { return in_flight_; }
  bool has_unwritten() const { return pending_.has_records(); }
  bool has_unsynced() const { return durable_offset_ < written_offset_; }
  const absl::Status& failure() const { return failure_; }
  const std::string& dir() const { return options_.dir; }

 private:
  Segment& active() { return segments_.back(); }
  const Segment& active() const { return segments_.back(); }
  void StartRequest(bool sync);
  const WriteRequest* SyncOnly();
  // Closes the (fully synced) active segment and creates the next one.
  absl::Status Roll(uint64_t base_offset);
  // Starts preparing the next segment file when the active one is far enough.
  void MaybePrepare();
  // The outcome of the request in flight, from CompleteWrite or FlushNow.
  void Complete(const absl::Status& write, const absl::Status& sync);
  void Fail(const absl::Status& cause);

  Env* const env_;
  const PartitionOptions options_;
  std::vector<Segment> segments_;  // oldest first; back() is the active one
  PendingBatches pending_;
  uint64_t written_offset_;
  uint64_t durable_offset_;
  bool in_flight_ = false;
  WriteRequest request_;
  std::vector<std::unique_ptr<PendingBatches::Chunk>> request_chunks_;
  absl::Status failure_;
  std::unique_ptr<SegmentPreparer> preparer_;  // with prepare_segments
  // The active segment's file is a prepared (zero-filled) one. When it is
  // not, the partition rolls into a prepared file as soon as one is ready.
  bool active_prepared_ = false;
};

}  // namespace telemq::storage
