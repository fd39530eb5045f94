// telemq storage: the on-disk record batch (docs/log_format.md, version 1).
//
//   BatchBuilder b(/*base_offset=*/100);
//   b.Add(type, key, value, timestamp_ns);     // record 100, 101, ...
//   std::string bytes = b.Finish();            // header + payload, ready to write
//
//   BatchHeader h;
//   ReadError e = DecodeBatchHeader(bytes.data(), bytes.size(), &h);
//   RecordIterator it(h, payload);  while (it.Next(&rec) == ReadError::kOk) ...
//
// Pure functions over bytes: no files, no clocks. Not thread-safe per object.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace telemq::storage {

inline constexpr uint32_t kBatchMagic = 0x424C5154;  // "TQLB"
inline constexpr uint8_t kFormatVersion = 1;
inline constexpr size_t kBatchHeaderSize = 48;
// Largest batch (header + payload). A record that does not fit alone is refused.
inline constexpr size_t kMaxBatchBytes = 16u << 20;
inline constexpr size_t kMaxPayloadBytes = kMaxBatchBytes - kBatchHeaderSize;
// Every offset (and base_offset + count) stays below this, so offset
// arithmetic never overflows, whatever a damaged or hostile file says.
inline constexpr uint64_t kMaxOffset = uint64_t{1} << 62;
// The smallest record (1-byte varints, empty key and value) is 6 bytes, so a
// batch claiming more records than payload bytes / 6 is malformed.
inline constexpr size_t kMinRecordBytes = 6;

// Every way a batch or record can fail to read; see the table in docs/log_format.md.
enum class ReadError : uint8_t {
  kOk = 0,
  kEndOfData,        // end of file, or zeroes (preallocation) where a batch would start
  kTruncatedHeader,  // fewer than kBatchHeaderSize bytes left
  kBadMagic,
  kHeaderCrc,  // header CRC mismatch: nothing in the header is trusted
  kBadVersion,
  kBadLength,         // payload length or record count out of range
  kTruncatedPayload,  // header valid, payload extends beyond the end of the file
  kPayloadCrc,
  kRecordFraming,   // payload does not parse as exactly `count` records
  kOffsetSequence,  // base offset does not follow the previous batch
  kIoError,         // reading the file failed
};

// Stable lower-case name ("header crc mismatch", ...) for messages.
const char* ReadErrorName(ReadError e);

struct BatchHeader {
  uint8_t version = kFormatVersion;
  uint8_t flags = 0;
  uint32_t payload_length = 0;
  uint32_t payload_crc = 0;  // unmasked crc32c of the payload
  uint32_t record_count = 0;
  uint64_t base_offset = 0;
  int64_t first_timestamp_ns = 0;
  int64_t max_timestamp_ns = 0;

  uint64_t end_offset() const { return base_offset + record_count; }
  uint64_t batch_bytes() const { return kBatchHeaderSize + payload_length; }
};

// Writes the 48-byte header (with both CRC fields) to dst.
void EncodeBatchHeader(const BatchHeader& h, char* dst);

// Validates and decodes the header at the start of [p, p + available). Checks,
// in order: end of data (nothing left, or the first min(4, available) bytes
// are zero), size, magic, header CRC, version (non-zero flags or reserved
// bytes also read as kBadVersion: a future format), lengths (payload length
// in [1, kMaxPayloadBytes], count in [1, payload length / kMinRecordBytes],
// base_offset + count <= kMaxOffset). Does not look at the payload.
ReadError DecodeBatchHeader(const char* p, size_t available, BatchHeader* h);

// One record. Views point into the batch payload they were read from.
struct Record {
  uint64_t offset = 0;
  int64_t timestamp_ns = 0;
  uint8_t type = 0;
  std::string_view key;
  std::string_view value;
};

// Encoded size of one record inside a payload (with its length prefix).
size_t RecordEncodedSize(std::string_view key, std::string_view value, int64_t ts_delta,
                         uint32_t offset_delta);
size_t RecordEncodedSize(size_t key_size, size_t value_size, int64_t ts_delta,
                         uint32_t offset_delta);

// Writes one record (its value the concatenation of `value_parts`, of total
// size `value_size`) at `dst`, exactly RecordEncodedSize bytes, and returns
// the end. The caller keeps the batch within kMaxBatchBytes.
char* EncodeRecord(char* dst, uint8_t type, uint32_t offset_delta, int64_t ts_delta,
                   std::string_view key, std::span<const std::string_view> value_parts,
                   size_t value_size);
// The same, appended to `payload`.
void AppendRecord(std::string* payload, uint8_t type, uint32_t offset_delta, int64_t ts_delta,
                  std::string_view key, std::span<const std::string_view> value_parts);

// Time deltas wrap (two's complement) instead of overflowing, so any pair of
// int64 times encodes and any decoded delta is defined behaviour.
inline int64_t TimeDelta(int64_t ts, int64_t base) {
  return static_cast<int64_t>(static_cast<uint64_t>(ts) - static_cast<uint64_t>(base));
}
inline int64_t TimeAdd(int64_t base, int64_t delta) {
  return static_cast<int64_t>(static_cast<uint64_t>(base) + static_cast<uint64_t>(delta));
}

// Accumulates the records of one batch. Reusable after Finish/Reset.
class BatchBuilder {
 public:
  explicit BatchBuilder(uint64_t base_offset = 0) { Reset(base_offset); }

  void Reset(uint64_t base_offset);

  // Appends a record; its offset is base_offset + count(). The caller checks
  // WouldFit first; Add never fails.
  void Add(uint8_t type, std::string_view key, std::string_view value, int64_t timestamp_ns);
  void Add(uint8_t type, std::string_view key, std::span<const std::string_view> value_parts,
           int64_t timestamp_ns);

  // True if a record of this shape keeps the batch within kMaxBatchBytes.
  bool WouldFit(std::string_view key, std::string_view value, int64_t timestamp_ns) const;

  // Returns header + payload and resets the builder to base_offset + count().
  std::string Finish();

  bool empty() const { return header_.record_count == 0; }
  uint32_t count() const { return header_.record_count; }
  uint64_t base_offset() const { return header_.base_offset; }
  size_t encoded_bytes() const { return kBatchHeaderSize + payload_.size(); }

 private:
  BatchHeader header_;
  std::string payload_;
};

// Iterates the records of a validated batch payload (CRC already checked),
// validating framing: every length in bounds, offset deltas equal to the record
// index, timestamps <= max_timestamp_ns, exactly record_count records.
class RecordIterator {
 public:
  RecordIterator(const BatchHeader& header, std::string_view payload)
      : header_(header), p_(payload.data()), limit_(payload.data() + payload.size()) {}

  // kOk with *out filled, kEndOfData after the last record, or kRecordFraming.
  ReadError Next(Record* out);

 private:
  BatchHeader header_;
  const char* p_;
  const char* limit_;
  uint32_t index_ = 0;
};

// Validates every record of a payload. kOk or kRecordFraming.
ReadError ValidateRecords(const BatchHeader& header, std::string_view payload);

}  // namespace telemq::storage
