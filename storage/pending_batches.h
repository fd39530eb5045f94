// telemq storage: the records a partition has appended but not yet handed
// to a write request (internal to storage/).
//
// Records are encoded straight into the open batch at the end of the
// *filling* chunk: no per-record allocation, one CRC pass per batch. When a
// batch closes it is assigned its segment: a batch that would take the
// current one past segment_bytes starts a new segment (the batch is moved to
// a chunk of its own, so every chunk feeds exactly one segment). SealAll
// hands the filling chunk over to the sealed queue; the partition takes
// sealed chunks into a write request and gives them back with Recycle once
// it completed. A sealed chunk is never written to again, so the buffers a
// request points to never move while appends continue (double buffering:
// in steady state one chunk fills while the other is being written).
//
// Not thread-safe; owned by the partition (one thread).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/batch_format.h"
#include "storage/byte_buffer.h"

namespace telemq::storage {

class PendingBatches {
 public:
  struct Chunk {
    ByteBuffer bytes;                  // whole batches, back to back
    std::vector<uint64_t> positions;   // of each batch in `bytes`
    std::vector<BatchHeader> headers;  // of each batch
    uint64_t segment_base = 0;         // the segment every batch here goes to
    uint64_t end_offset() const { return headers.back().end_offset(); }
  };

  // `segment_base` / `segment_bytes_used`: the segment the next batch goes
  // to and how full it already is. `max_batch_bytes` is clamped to
  // kMaxBatchBytes.
  PendingBatches(uint64_t next_offset, uint64_t segment_base, uint64_t segment_bytes_used,
                 uint64_t segment_bytes, size_t max_batch_bytes);

  // True when a record of these sizes fits in a batch of its own.
  static bool RecordFits(size_t key_size, size_t value_size);

  // Appends a record (RecordFits checked by the caller) to the open batch,
  // closing that batch first when the record would take it past
  // max_batch_bytes, and returns the record's offset.
  uint64_t Append(uint8_t type, std::string_view key, std::span<const std::string_view> value_parts,
                  size_t value_size, int64_t timestamp_ns);

  // The next batch to close starts a new segment, however full the current
  // one is, if the current one is still `segment_base` (and not empty).
  void RollAtNextBatch(uint64_t segment_base) {
    roll_asked_ = true;
    roll_from_base_ = segment_base;
  }

  // Closes the open batch and moves the filling chunk to sealed().
  void SealAll();
  std::deque<std::unique_ptr<Chunk>>& sealed() { return sealed_; }
  // Takes back a chunk whose write completed (or was abandoned).
  void Recycle(std::unique_ptr<Chunk> chunk);

  // Appended records not yet in a sealed chunk taken by the partition.
  bool has_records() const {
    return open_count_ > 0 || !filling_->headers.empty() || !sealed_.empty();
  }
  uint64_t next_offset() const { return next_offset_; }

 private:
  void CloseBatch();
  std::unique_ptr<Chunk> NewChunk();

  const uint64_t segment_bytes_;
  const size_t batch_limit_;
  uint64_t next_offset_;
  uint64_t tail_segment_base_;   // the segment the next closed batch goes to
  uint64_t tail_segment_bytes_;  // its bytes, written and pending
  bool roll_asked_ = false;
  uint64_t roll_from_base_ = 0;

  std::unique_ptr<Chunk> filling_;
  // The open batch: its header placeholder starts at filling_->bytes[open_start_].
  size_t open_start_ = 0;
  uint32_t open_count_ = 0;
  uint64_t open_base_ = 0;
  int64_t open_first_ts_ = 0;
  int64_t open_max_ts_ = 0;

  std::deque<std::unique_ptr<Chunk>> sealed_;
  std::vector<std::unique_ptr<Chunk>> free_;
};

}  // namespace telemq::storage
