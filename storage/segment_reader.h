// telemq storage: sequential, validating reader of the batches of one
// segment file, with large read-ahead (internal to storage/).
//
//   SegmentReader r(file, /*limit=*/size);
//   r.Seek(0, base_offset);
//   SegmentReader::Batch b;
//   while ((e = r.Next(&b)) == ReadError::kOk) { ... b.header, b.payload ... }
//   // e == kEndOfData && r.position() == size: clean end; anything else is
//   // damage at r.position() (see docs/log_format.md, "Reading rules").
//
// Views into the read-ahead buffer stay valid until the next call. The file
// must outlive the reader. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "storage/batch_format.h"
#include "storage/env.h"

namespace telemq::storage {

class SegmentReader {
 public:
  // Reads at most up to byte `limit` of `file` (its valid or current size),
  // `read_ahead` bytes per pread (more when one batch is larger).
  SegmentReader(const File* file, uint64_t limit, size_t read_ahead = 1u << 20);

  // The next batch is expected at byte `position` with base offset
  // `expected_base` (kNoExpectedBase: any). Batches whose records would reach
  // `max_end_offset` or beyond read as kOffsetSequence.
  static constexpr uint64_t kNoExpectedBase = UINT64_MAX;
  void Seek(uint64_t position, uint64_t expected_base, uint64_t max_end_offset = kMaxOffset);

  struct Batch {
    uint64_t position = 0;  // of the header in the file
    BatchHeader header;
    std::string_view payload;
  };
  // kOk with *batch (header and payload CRC checked, offsets in sequence,
  // and with `check_records` every record framed), and the reader moves past
  // it. Otherwise the reader stays at the failing batch: kEndOfData at the
  // limit or at zeroes, or the damage found there (kIoError: io_status()).
  // Whenever the header itself was valid (kPayloadCrc, kTruncatedPayload,
  // kRecordFraming, kOffsetSequence), batch->header and position are set.
  ReadError Next(Batch* batch, bool check_records = true);

  // Checks only the batch at `position` (header, extent within the limit,
  // payload CRC), without moving the reader: the resync scan's probe.
  ReadError Probe(uint64_t position, Batch* batch);
  // The first position >= `from` holding the magic bytes, or limit().
  uint64_t FindMagic(uint64_t from);

  // Forgets the read-ahead, so the next call reads the file again: for a
  // segment still being written, where the bytes after the last valid batch
  // (zeroes, half a batch) may have changed since they were read.
  void Invalidate() { buf_len_ = 0; }

  uint64_t position() const { return position_; }
  uint64_t limit() const { return limit_; }
  uint64_t expected_base() const { return expected_base_; }
  const absl::Status& io_status() const { return io_status_; }

 private:
  // Makes bytes [pos, pos + n) (clipped at the limit) available; returns a
  // pointer to pos and the number of bytes available, or nullptr on I/O error.
  const char* Fill(uint64_t pos, size_t n, size_t* available);
  ReadError ReadBatchAt(uint64_t pos, Batch* batch);

  const File* file_;
  uint64_t limit_;
  size_t read_ahead_;
  std::unique_ptr<char[]> buf_;
  size_t capacity_ = 0;
  uint64_t buf_pos_ = 0;  // file position of buf_[0]
  size_t buf_len_ = 0;
  uint64_t position_ = 0;
  uint64_t expected_base_ = kNoExpectedBase;
  uint64_t max_end_offset_ = kMaxOffset;
  absl::Status io_status_;
};

}  // namespace telemq::storage
