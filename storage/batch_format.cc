#include "storage/batch_format.h"

#include <algorithm>
#include <cstring>

#include "storage/coding.h"
#include "storage/crc32c.h"

namespace telemq::storage {
namespace {

// Byte positions inside the 48-byte header (docs/log_format.md).
constexpr size_t kMagicPos = 0;
constexpr size_t kHeaderCrcPos = 4;
constexpr size_t kVersionPos = 8;
constexpr size_t kFlagsPos = 9;
constexpr size_t kReservedPos = 10;
constexpr size_t kPayloadLengthPos = 12;
constexpr size_t kPayloadCrcPos = 16;
constexpr size_t kCountPos = 20;
constexpr size_t kBaseOffsetPos = 24;
constexpr size_t kFirstTsPos = 32;
constexpr size_t kMaxTsPos = 40;
// The header CRC covers everything after itself.
constexpr size_t kHeaderCrcFrom = 8;

uint32_t HeaderCrc(const char* header) {
  return crc32c::Value(header + kHeaderCrcFrom, kBatchHeaderSize - kHeaderCrcFrom);
}

void PutVarint32Raw(char** p, uint32_t v) {
  while (v >= 0x80) {
    *(*p)++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *(*p)++ = static_cast<char>(v);
}

void PutVarint64Raw(char** p, uint64_t v) {
  while (v >= 0x80) {
    *(*p)++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *(*p)++ = static_cast<char>(v);
}

// Bytes of a record after its length varint.
size_t RecordBodySize(size_t key_size, size_t value_size, int64_t ts_delta, uint32_t offset_delta) {
  return 1 + VarintLength(offset_delta) + VarintLength(ZigZag(ts_delta)) + VarintLength(key_size) +
         key_size + VarintLength(value_size) + value_size;
}

}  // namespace

const char* ReadErrorName(ReadError e) {
  switch (e) {
    case ReadError::kOk:
      return "ok";
    case ReadError::kEndOfData:
      return "end of data";
    case ReadError::kTruncatedHeader:
      return "truncated header";
    case ReadError::kBadMagic:
      return "bad magic";
    case ReadError::kHeaderCrc:
      return "header crc mismatch";
    case ReadError::kBadVersion:
      return "bad version";
    case ReadError::kBadLength:
      return "bad length";
    case ReadError::kTruncatedPayload:
      return "truncated payload";
    case ReadError::kPayloadCrc:
      return "payload crc mismatch";
    case ReadError::kRecordFraming:
      return "record framing error";
    case ReadError::kOffsetSequence:
      return "offset sequence error";
    case ReadError::kIoError:
      return "i/o error";
  }
  return "unknown read error";
}

void EncodeBatchHeader(const BatchHeader& h, char* dst) {
  StoreLe32(dst + kMagicPos, kBatchMagic);
  dst[kVersionPos] = static_cast<char>(h.version);
  dst[kFlagsPos] = static_cast<char>(h.flags);
  dst[kReservedPos] = 0;
  dst[kReservedPos + 1] = 0;
  StoreLe32(dst + kPayloadLengthPos, h.payload_length);
  StoreLe32(dst + kPayloadCrcPos, crc32c::Mask(h.payload_crc));
  StoreLe32(dst + kCountPos, h.record_count);
  StoreLe64(dst + kBaseOffsetPos, h.base_offset);
  StoreLe64(dst + kFirstTsPos, static_cast<uint64_t>(h.first_timestamp_ns));
  StoreLe64(dst + kMaxTsPos, static_cast<uint64_t>(h.max_timestamp_ns));
  StoreLe32(dst + kHeaderCrcPos, crc32c::Mask(HeaderCrc(dst)));
}

ReadError DecodeBatchHeader(const char* p, size_t available, BatchHeader* h) {
  if (available == 0) return ReadError::kEndOfData;
  // A batch never starts with a zero byte (the magic's first byte is 'T'), so
  // zeroes where a batch would start are preallocated space: end of data.
  const size_t probe = std::min<size_t>(4, available);
  if (std::all_of(p, p + probe, [](char c) { return c == 0; })) return ReadError::kEndOfData;
  if (available < kBatchHeaderSize) return ReadError::kTruncatedHeader;
  if (LoadLe32(p + kMagicPos) != kBatchMagic) return ReadError::kBadMagic;
  if (crc32c::Unmask(LoadLe32(p + kHeaderCrcPos)) != HeaderCrc(p)) return ReadError::kHeaderCrc;
  h->version = static_cast<uint8_t>(p[kVersionPos]);
  h->flags = static_cast<uint8_t>(p[kFlagsPos]);
  if (h->version != kFormatVersion || h->flags != 0 || p[kReservedPos] != 0 ||
      p[kReservedPos + 1] != 0) {
    return ReadError::kBadVersion;
  }
  h->payload_length = LoadLe32(p + kPayloadLengthPos);
  h->payload_crc = crc32c::Unmask(LoadLe32(p + kPayloadCrcPos));
  h->record_count = LoadLe32(p + kCountPos);
  h->base_offset = LoadLe64(p + kBaseOffsetPos);
  h->first_timestamp_ns = static_cast<int64_t>(LoadLe64(p + kFirstTsPos));
  h->max_timestamp_ns = static_cast<int64_t>(LoadLe64(p + kMaxTsPos));
  if (h->payload_length == 0 || h->payload_length > kMaxPayloadBytes || h->record_count == 0 ||
      h->record_count > h->payload_length / kMinRecordBytes || h->base_offset > kMaxOffset ||
      kMaxOffset - h->base_offset < h->record_count) {
    return ReadError::kBadLength;
  }
  return ReadError::kOk;
}

size_t RecordEncodedSize(size_t key_size, size_t value_size, int64_t ts_delta,
                         uint32_t offset_delta) {
  const size_t body = RecordBodySize(key_size, value_size, ts_delta, offset_delta);
  return VarintLength(body) + body;
}

size_t RecordEncodedSize(std::string_view key, std::string_view value, int64_t ts_delta,
                         uint32_t offset_delta) {
  return RecordEncodedSize(key.size(), value.size(), ts_delta, offset_delta);
}

char* EncodeRecord(char* dst, uint8_t type, uint32_t offset_delta, int64_t ts_delta,
                   std::string_view key, std::span<const std::string_view> value_parts,
                   size_t value_size) {
  char* p = dst;
  PutVarint32Raw(
      &p, static_cast<uint32_t>(RecordBodySize(key.size(), value_size, ts_delta, offset_delta)));
  *p++ = static_cast<char>(type);
  PutVarint32Raw(&p, offset_delta);
  PutVarint64Raw(&p, ZigZag(ts_delta));
  PutVarint32Raw(&p, static_cast<uint32_t>(key.size()));
  if (!key.empty()) std::memcpy(p, key.data(), key.size());
  p += key.size();
  PutVarint32Raw(&p, static_cast<uint32_t>(value_size));
  for (std::string_view part : value_parts) {
    if (!part.empty()) std::memcpy(p, part.data(), part.size());
    p += part.size();
  }
  return p;
}

void AppendRecord(std::string* payload, uint8_t type, uint32_t offset_delta, int64_t ts_delta,
                  std::string_view key, std::span<const std::string_view> value_parts) {
  size_t value_size = 0;
  for (std::string_view part : value_parts) value_size += part.size();
  const size_t old = payload->size();
  payload->resize(old + RecordEncodedSize(key.size(), value_size, ts_delta, offset_delta));
  EncodeRecord(payload->data() + old, type, offset_delta, ts_delta, key, value_parts, value_size);
}

void BatchBuilder::Reset(uint64_t base_offset) {
  header_ = BatchHeader();
  header_.base_offset = base_offset;
  payload_.clear();
}

void BatchBuilder::Add(uint8_t type, std::string_view key, std::string_view value,
                       int64_t timestamp_ns) {
  Add(type, key, std::span<const std::string_view>(&value, 1), timestamp_ns);
}

void BatchBuilder::Add(uint8_t type, std::string_view key,
                       std::span<const std::string_view> value_parts, int64_t timestamp_ns) {
  if (header_.record_count == 0) {
    header_.first_timestamp_ns = timestamp_ns;
    header_.max_timestamp_ns = timestamp_ns;
  }
  header_.max_timestamp_ns = std::max(header_.max_timestamp_ns, timestamp_ns);
  AppendRecord(&payload_, type, header_.record_count,
               TimeDelta(timestamp_ns, header_.first_timestamp_ns), key, value_parts);
  ++header_.record_count;
}

bool BatchBuilder::WouldFit(std::string_view key, std::string_view value,
                            int64_t timestamp_ns) const {
  const int64_t delta = empty() ? 0 : TimeDelta(timestamp_ns, header_.first_timestamp_ns);
  return key.size() <= kMaxPayloadBytes && value.size() <= kMaxPayloadBytes &&
         encoded_bytes() + RecordEncodedSize(key, value, delta, header_.record_count) <=
             kMaxBatchBytes;
}

std::string BatchBuilder::Finish() {
  std::string out(kBatchHeaderSize, '\0');
  header_.payload_length = static_cast<uint32_t>(payload_.size());
  header_.payload_crc = crc32c::Value(payload_.data(), payload_.size());
  EncodeBatchHeader(header_, out.data());
  out.append(payload_);
  Reset(header_.base_offset + header_.record_count);
  return out;
}

ReadError RecordIterator::Next(Record* out) {
  if (index_ == header_.record_count) {
    return p_ == limit_ ? ReadError::kEndOfData : ReadError::kRecordFraming;
  }
  uint32_t length;
  const char* p = GetVarint32(p_, limit_, &length);
  if (p == nullptr || length > static_cast<size_t>(limit_ - p)) return ReadError::kRecordFraming;
  const char* end = p + length;
  if (p == end) return ReadError::kRecordFraming;
  out->type = static_cast<uint8_t>(*p++);
  uint32_t offset_delta;
  uint64_t ts_zigzag;
  uint32_t key_length;
  p = GetVarint32(p, end, &offset_delta);
  if (p != nullptr) p = GetVarint64(p, end, &ts_zigzag);
  if (p != nullptr) p = GetVarint32(p, end, &key_length);
  if (p == nullptr || offset_delta != index_ || key_length > static_cast<size_t>(end - p)) {
    return ReadError::kRecordFraming;
  }
  out->key = std::string_view(p, key_length);
  p += key_length;
  uint32_t value_length;
  p = GetVarint32(p, end, &value_length);
  if (p == nullptr || value_length != static_cast<size_t>(end - p))
    return ReadError::kRecordFraming;
  out->value = std::string_view(p, value_length);
  const int64_t ts_delta = UnZigZag(ts_zigzag);
  // The first record's time is the header's first_ts_ns.
  if ((index_ == 0 && ts_delta != 0)) return ReadError::kRecordFraming;
  out->timestamp_ns = TimeAdd(header_.first_timestamp_ns, ts_delta);
  if (out->timestamp_ns > header_.max_timestamp_ns) return ReadError::kRecordFraming;
  out->offset = header_.base_offset + index_;
  ++index_;
  p_ = end;
  return ReadError::kOk;
}

ReadError ValidateRecords(const BatchHeader& header, std::string_view payload) {
  RecordIterator it(header, payload);
  Record r;
  ReadError e;
  while ((e = it.Next(&r)) == ReadError::kOk) {
  }
  return e == ReadError::kEndOfData ? ReadError::kOk : e;
}

}  // namespace telemq::storage
