#include "storage/pending_batches.h"

#include <algorithm>

#include "storage/crc32c.h"

namespace telemq::storage {
namespace {

constexpr size_t kInitialChunkBytes = 64u << 10;
constexpr size_t kMaxFreeChunks = 4;

}  // namespace

PendingBatches::PendingBatches(uint64_t next_offset, uint64_t segment_base,
                               uint64_t segment_bytes_used, uint64_t segment_bytes,
                               size_t max_batch_bytes)
    : segment_bytes_(segment_bytes),
      batch_limit_(
          std::clamp<size_t>(max_batch_bytes, kBatchHeaderSize + kMinRecordBytes, kMaxBatchBytes)),
      next_offset_(next_offset),
      tail_segment_base_(segment_base),
      tail_segment_bytes_(segment_bytes_used) {
  filling_ = NewChunk();  // after free_ exists
}

bool PendingBatches::RecordFits(size_t key_size, size_t value_size) {
  return key_size <= kMaxPayloadBytes && value_size <= kMaxPayloadBytes &&
         kBatchHeaderSize + RecordEncodedSize(key_size, value_size, 0, 0) <= kMaxBatchBytes;
}

uint64_t PendingBatches::Append(uint8_t type, std::string_view key,
                                std::span<const std::string_view> value_parts, size_t value_size,
                                int64_t timestamp_ns) {
  int64_t ts_delta = open_count_ > 0 ? TimeDelta(timestamp_ns, open_first_ts_) : 0;
  size_t record = RecordEncodedSize(key.size(), value_size, ts_delta, open_count_);
  if (open_count_ > 0 && filling_->bytes.size() - open_start_ + record > batch_limit_) {
    CloseBatch();
    ts_delta = 0;
    record = RecordEncodedSize(key.size(), value_size, 0, 0);
  }
  ByteBuffer& bytes = filling_->bytes;  // after CloseBatch, which may start a new chunk
  if (open_count_ == 0) {
    open_start_ = bytes.size();
    bytes.Extend(kBatchHeaderSize);  // the header, written when the batch closes
    open_base_ = next_offset_;
    open_first_ts_ = timestamp_ns;
    open_max_ts_ = timestamp_ns;
  }
  EncodeRecord(bytes.Extend(record), type, open_count_, ts_delta, key, value_parts, value_size);
  open_max_ts_ = std::max(open_max_ts_, timestamp_ns);
  ++open_count_;
  if (bytes.size() - open_start_ >= batch_limit_) CloseBatch();
  return next_offset_++;
}

void PendingBatches::CloseBatch() {
  if (open_count_ == 0) return;
  const size_t batch_bytes = filling_->bytes.size() - open_start_;
  const bool asked = roll_asked_ && roll_from_base_ == tail_segment_base_;
  if (tail_segment_bytes_ > 0 && (asked || tail_segment_bytes_ + batch_bytes > segment_bytes_)) {
    // Roll: this batch starts the next segment, in a chunk of its own.
    tail_segment_base_ = open_base_;
    tail_segment_bytes_ = 0;
    roll_asked_ = false;
    if (open_start_ > 0) {
      std::unique_ptr<Chunk> next = NewChunk();
      next->bytes.Append(filling_->bytes.data() + open_start_, batch_bytes);
      filling_->bytes.Truncate(open_start_);
      sealed_.push_back(std::move(filling_));
      filling_ = std::move(next);
      open_start_ = 0;
    }
  }
  Chunk& c = *filling_;
  if (c.headers.empty()) c.segment_base = tail_segment_base_;
  char* header = c.bytes.data() + open_start_;
  BatchHeader h;
  h.payload_length = static_cast<uint32_t>(batch_bytes - kBatchHeaderSize);
  h.payload_crc = crc32c::Value(header + kBatchHeaderSize, h.payload_length);
  h.record_count = open_count_;
  h.base_offset = open_base_;
  h.first_timestamp_ns = open_first_ts_;
  h.max_timestamp_ns = open_max_ts_;
  EncodeBatchHeader(h, header);
  c.positions.push_back(open_start_);
  c.headers.push_back(h);
  tail_segment_bytes_ += batch_bytes;
  open_count_ = 0;
}

void PendingBatches::SealAll() {
  CloseBatch();
  if (filling_->headers.empty()) return;
  sealed_.push_back(std::move(filling_));
  filling_ = NewChunk();
}

void PendingBatches::Recycle(std::unique_ptr<Chunk> chunk) {
  if (free_.size() >= kMaxFreeChunks) return;
  // A burst may have grown a chunk far beyond the usual batch: let it go.
  if (chunk->bytes.capacity() > 4 * batch_limit_ + kInitialChunkBytes) chunk->bytes.Release();
  chunk->bytes.Clear();
  chunk->positions.clear();
  chunk->headers.clear();
  free_.push_back(std::move(chunk));
}

std::unique_ptr<PendingBatches::Chunk> PendingBatches::NewChunk() {
  if (!free_.empty()) {
    std::unique_ptr<Chunk> c = std::move(free_.back());
    free_.pop_back();
    return c;
  }
  auto c = std::make_unique<Chunk>();
  c->bytes.Reserve(kInitialChunkBytes);
  return c;
}

}  // namespace telemq::storage
