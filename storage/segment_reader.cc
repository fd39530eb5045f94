#include "storage/segment_reader.h"

#include <string.h>  // memmem

#include <algorithm>
#include <cstring>

#include "storage/coding.h"
#include "storage/crc32c.h"

namespace telemq::storage {

SegmentReader::SegmentReader(const File* file, uint64_t limit, size_t read_ahead)
    : file_(file), limit_(limit), read_ahead_(std::max<size_t>(read_ahead, kBatchHeaderSize)) {}

void SegmentReader::Seek(uint64_t position, uint64_t expected_base, uint64_t max_end_offset) {
  position_ = position;
  expected_base_ = expected_base;
  max_end_offset_ = max_end_offset;
}

const char* SegmentReader::Fill(uint64_t pos, size_t n, size_t* available) {
  if (pos >= limit_) {
    *available = 0;
    return "";
  }
  n = static_cast<size_t>(std::min<uint64_t>(n, limit_ - pos));
  if (pos >= buf_pos_ && pos + n <= buf_pos_ + buf_len_) {
    *available = static_cast<size_t>(buf_pos_ + buf_len_ - pos);
    return buf_.get() + (pos - buf_pos_);
  }
  const size_t want =
      static_cast<size_t>(std::min<uint64_t>(std::max(n, read_ahead_), limit_ - pos));
  // Bytes already buffered from `pos` on move to the front instead of being
  // read again (a batch straddling two read-aheads).
  size_t keep = 0;
  if (pos >= buf_pos_ && pos < buf_pos_ + buf_len_)
    keep = static_cast<size_t>(buf_pos_ + buf_len_ - pos);
  if (want > capacity_) {
    std::unique_ptr<char[]> bigger(new char[want]);
    if (keep > 0) std::memcpy(bigger.get(), buf_.get() + (pos - buf_pos_), keep);
    buf_ = std::move(bigger);
    capacity_ = want;
  } else if (keep > 0) {
    std::memmove(buf_.get(), buf_.get() + (pos - buf_pos_), keep);
  }
  buf_pos_ = pos;
  buf_len_ = keep;
  absl::StatusOr<size_t> got = file_->Read(pos + keep, {buf_.get() + keep, want - keep});
  if (!got.ok()) {
    io_status_ = got.status();
    buf_len_ = 0;
    return nullptr;
  }
  buf_len_ += *got;
  *available = buf_len_;
  return buf_.get();
}

ReadError SegmentReader::ReadBatchAt(uint64_t pos, Batch* batch) {
  size_t available;
  const char* p = Fill(pos, kBatchHeaderSize, &available);
  if (p == nullptr) return ReadError::kIoError;
  BatchHeader h;
  const ReadError e = DecodeBatchHeader(p, std::min(available, kBatchHeaderSize), &h);
  if (e != ReadError::kOk) return e;
  // The header is trusted from here on, even when the payload fails.
  batch->position = pos;
  batch->header = h;
  const uint64_t total = h.batch_bytes();
  if (total > limit_ - pos) return ReadError::kTruncatedPayload;
  p = Fill(pos, total, &available);
  if (p == nullptr) return ReadError::kIoError;
  if (available < total) return ReadError::kTruncatedPayload;  // file shorter than the limit
  const std::string_view payload(p + kBatchHeaderSize, h.payload_length);
  if (crc32c::Value(payload.data(), payload.size()) != h.payload_crc) return ReadError::kPayloadCrc;
  batch->payload = payload;
  return ReadError::kOk;
}

ReadError SegmentReader::Next(Batch* batch, bool check_records) {
  const ReadError e = ReadBatchAt(position_, batch);
  if (e != ReadError::kOk) return e;
  const BatchHeader& h = batch->header;
  if (check_records && ValidateRecords(h, batch->payload) != ReadError::kOk) {
    return ReadError::kRecordFraming;
  }
  if ((expected_base_ != kNoExpectedBase && h.base_offset != expected_base_) ||
      h.end_offset() > max_end_offset_) {
    return ReadError::kOffsetSequence;
  }
  position_ += h.batch_bytes();
  expected_base_ = h.end_offset();
  return ReadError::kOk;
}

ReadError SegmentReader::Probe(uint64_t position, Batch* batch) {
  return ReadBatchAt(position, batch);
}

uint64_t SegmentReader::FindMagic(uint64_t from) {
  char magic[4];
  StoreLe32(magic, kBatchMagic);
  while (from < limit_) {
    size_t available;
    const char* p = Fill(from, read_ahead_, &available);
    if (p == nullptr || available < sizeof(magic)) return limit_;
    const void* hit = ::memmem(p, available, magic, sizeof(magic));
    if (hit != nullptr) return from + static_cast<uint64_t>(static_cast<const char*>(hit) - p);
    if (from + available >= limit_) return limit_;
    from += available - (sizeof(magic) - 1);  // a magic may straddle two reads
  }
  return limit_;
}

}  // namespace telemq::storage
