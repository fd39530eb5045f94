#include "storage/batch_format.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/coding.h"
#include "storage/crc32c.h"

namespace telemq::storage {
namespace {

std::string Hex(std::string_view s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    out += kDigits[(static_cast<uint8_t>(c) >> 4) & 0xf];
    out += kDigits[static_cast<uint8_t>(c) & 0xf];
  }
  return out;
}

BatchHeader SampleHeader() {
  BatchHeader h;
  h.payload_length = 32;
  h.payload_crc = 0x12345678;
  h.record_count = 2;
  h.base_offset = 100;
  h.first_timestamp_ns = 1700000000000000000;
  h.max_timestamp_ns = 1700000000000000005;
  return h;
}

std::string Encoded(const BatchHeader& h) {
  std::string s(kBatchHeaderSize, '\0');
  EncodeBatchHeader(h, s.data());
  return s;
}

// Recomputes the header CRC after a test changed bytes [8, 48).
void Reseal(std::string* header) {
  StoreLe32(header->data() + 4, crc32c::Mask(crc32c::Value(header->data() + 8, 40)));
}

ReadError Decode(const std::string& bytes) {
  BatchHeader h;
  return DecodeBatchHeader(bytes.data(), bytes.size(), &h);
}

TEST(BatchFormat, GoldenHeaderBytes) {
  // Computed independently (Python struct + bitwise crc32c), see docs/log_format.md.
  EXPECT_EQ(Hex(Encoded(SampleHeader())),
            "54514c42f21cf7c70100000020000000400f734f02000000640000000000000000002a36fe9c971705"
            "002a36fe9c9717");
}

TEST(BatchFormat, HeaderRoundTrips) {
  const std::string bytes = Encoded(SampleHeader());
  BatchHeader h;
  ASSERT_EQ(DecodeBatchHeader(bytes.data(), bytes.size(), &h), ReadError::kOk);
  EXPECT_EQ(h.payload_length, 32u);
  EXPECT_EQ(h.payload_crc, 0x12345678u);
  EXPECT_EQ(h.record_count, 2u);
  EXPECT_EQ(h.base_offset, 100u);
  EXPECT_EQ(h.first_timestamp_ns, 1700000000000000000);
  EXPECT_EQ(h.max_timestamp_ns, 1700000000000000005);
  EXPECT_EQ(h.end_offset(), 102u);
  EXPECT_EQ(h.batch_bytes(), 80u);
}

TEST(BatchFormat, BuilderRoundTripsRecords) {
  BatchBuilder b(7);
  b.Add(1, "a/b", "hello", 1000);
  b.Add(2, "", "", 990);  // earlier time: a negative delta
  const std::string_view parts[] = {"con", "cat"};
  b.Add(3, "key", parts, 2000);
  EXPECT_EQ(b.count(), 3u);
  const std::string bytes = b.Finish();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.base_offset(), 10u);

  BatchHeader h;
  ASSERT_EQ(DecodeBatchHeader(bytes.data(), bytes.size(), &h), ReadError::kOk);
  EXPECT_EQ(h.batch_bytes(), bytes.size());
  EXPECT_EQ(h.max_timestamp_ns, 2000);
  const std::string_view payload(bytes.data() + kBatchHeaderSize, h.payload_length);
  EXPECT_EQ(crc32c::Value(payload.data(), payload.size()), h.payload_crc);
  RecordIterator it(h, payload);
  Record r;
  ASSERT_EQ(it.Next(&r), ReadError::kOk);
  EXPECT_EQ(r.offset, 7u);
  EXPECT_EQ(r.type, 1);
  EXPECT_EQ(r.key, "a/b");
  EXPECT_EQ(r.value, "hello");
  EXPECT_EQ(r.timestamp_ns, 1000);
  ASSERT_EQ(it.Next(&r), ReadError::kOk);
  EXPECT_EQ(r.offset, 8u);
  EXPECT_EQ(r.key, "");
  EXPECT_EQ(r.value, "");
  EXPECT_EQ(r.timestamp_ns, 990);
  ASSERT_EQ(it.Next(&r), ReadError::kOk);
  EXPECT_EQ(r.offset, 9u);
  EXPECT_EQ(r.value, "concat");
  EXPECT_EQ(r.timestamp_ns, 2000);
  EXPECT_EQ(it.Next(&r), ReadError::kEndOfData);
  EXPECT_EQ(ValidateRecords(h, payload), ReadError::kOk);
}

TEST(BatchFormat, RecordEncodedSizeMatchesEncoding) {
  for (size_t value_size : {0, 1, 127, 128, 16383, 16384, 100000}) {
    std::string payload;
    const std::string value(value_size, 'v');
    const std::string_view parts[] = {value};
    AppendRecord(&payload, 9, 300, -123456789, "key", parts);
    EXPECT_EQ(payload.size(), RecordEncodedSize("key", value, -123456789, 300)) << value_size;
  }
}

TEST(BatchFormat, WouldFitRefusesRecordBeyondMaxBatch) {
  BatchBuilder b;
  EXPECT_TRUE(b.WouldFit("k", std::string(kMaxPayloadBytes - 16, 'x'), 0));
  EXPECT_FALSE(b.WouldFit("k", std::string(kMaxPayloadBytes, 'x'), 0));
}

TEST(BatchFormat, ExtremeTimestampsWrapWithoutOverflow) {
  BatchBuilder b;
  b.Add(0, "", "x", INT64_MAX);
  b.Add(0, "", "y", INT64_MIN);
  const std::string bytes = b.Finish();
  BatchHeader h;
  ASSERT_EQ(DecodeBatchHeader(bytes.data(), bytes.size(), &h), ReadError::kOk);
  RecordIterator it(h, std::string_view(bytes).substr(kBatchHeaderSize));
  Record r;
  ASSERT_EQ(it.Next(&r), ReadError::kOk);
  EXPECT_EQ(r.timestamp_ns, INT64_MAX);
  ASSERT_EQ(it.Next(&r), ReadError::kOk);
  EXPECT_EQ(r.timestamp_ns, INT64_MIN);
}

// ---- Header reading rules, one per row of the table in docs/log_format.md ----

TEST(BatchHeaderRules, NothingLeftIsEndOfData) { EXPECT_EQ(Decode(""), ReadError::kEndOfData); }

TEST(BatchHeaderRules, ZeroesAreEndOfData) {
  EXPECT_EQ(Decode(std::string(100, '\0')), ReadError::kEndOfData);
  EXPECT_EQ(Decode(std::string(2, '\0')), ReadError::kEndOfData);
}

TEST(BatchHeaderRules, FewerThan48BytesIsTruncatedHeader) {
  EXPECT_EQ(Decode(Encoded(SampleHeader()).substr(0, 47)), ReadError::kTruncatedHeader);
}

TEST(BatchHeaderRules, WrongMagicIsBadMagic) {
  std::string h = Encoded(SampleHeader());
  h[3] = 'X';
  EXPECT_EQ(Decode(h), ReadError::kBadMagic);
}

TEST(BatchHeaderRules, HeaderCrcCoversThePayloadLength) {
  std::string h = Encoded(SampleHeader());
  h[12] ^= 0x01;  // plen: without the header CRC a damaged length would be trusted
  EXPECT_EQ(Decode(h), ReadError::kHeaderCrc);
}

TEST(BatchHeaderRules, DamagedHeaderCrcIsHeaderCrcMismatch) {
  std::string h = Encoded(SampleHeader());
  h[5] ^= 0x01;
  EXPECT_EQ(Decode(h), ReadError::kHeaderCrc);
}

TEST(BatchHeaderRules, OtherVersionIsBadVersion) {
  BatchHeader bad = SampleHeader();
  bad.version = 2;
  EXPECT_EQ(Decode(Encoded(bad)), ReadError::kBadVersion);
}

TEST(BatchHeaderRules, NonZeroFlagsOrReservedReadAsBadVersion) {
  BatchHeader flagged = SampleHeader();
  flagged.flags = 1;
  EXPECT_EQ(Decode(Encoded(flagged)), ReadError::kBadVersion);
  std::string h = Encoded(SampleHeader());
  h[10] = 1;
  Reseal(&h);
  EXPECT_EQ(Decode(h), ReadError::kBadVersion);
}

TEST(BatchHeaderRules, LengthOrCountOutOfRangeIsBadLength) {
  BatchHeader h = SampleHeader();
  h.payload_length = 0;
  EXPECT_EQ(Decode(Encoded(h)), ReadError::kBadLength);
  h = SampleHeader();
  h.payload_length = kMaxPayloadBytes + 1;
  EXPECT_EQ(Decode(Encoded(h)), ReadError::kBadLength);
  h = SampleHeader();
  h.record_count = 0;
  EXPECT_EQ(Decode(Encoded(h)), ReadError::kBadLength);
  h = SampleHeader();
  h.record_count = h.payload_length / kMinRecordBytes + 1;
  EXPECT_EQ(Decode(Encoded(h)), ReadError::kBadLength);
  h = SampleHeader();
  h.base_offset = kMaxOffset - 1;  // base + count beyond kMaxOffset
  EXPECT_EQ(Decode(Encoded(h)), ReadError::kBadLength);
}

// ---- Record framing: every violation is kRecordFraming ----

struct Framed {
  BatchHeader header;
  std::string payload;
};

Framed WithPayload(std::string payload, uint32_t count, int64_t max_ts = 0) {
  Framed f;
  f.header.record_count = count;
  f.header.payload_length = static_cast<uint32_t>(payload.size());
  f.header.max_timestamp_ns = max_ts;
  f.payload = std::move(payload);
  return f;
}

std::string OneRecord(uint32_t offset_delta, int64_t ts_delta, std::string_view value = "v") {
  std::string p;
  const std::string_view parts[] = {value};
  AppendRecord(&p, 0, offset_delta, ts_delta, "k", parts);
  return p;
}

ReadError Validate(const Framed& f) { return ValidateRecords(f.header, f.payload); }

TEST(RecordFraming, WellFormedPayloadValidates) {
  EXPECT_EQ(Validate(WithPayload(OneRecord(0, 0) + OneRecord(1, 0), 2)), ReadError::kOk);
}

TEST(RecordFraming, FewerRecordsThanCountIsFramingError) {
  EXPECT_EQ(Validate(WithPayload(OneRecord(0, 0), 2)), ReadError::kRecordFraming);
}

TEST(RecordFraming, BytesAfterTheLastRecordAreFramingError) {
  EXPECT_EQ(Validate(WithPayload(OneRecord(0, 0) + "x", 1)), ReadError::kRecordFraming);
}

TEST(RecordFraming, LengthBeyondPayloadIsFramingError) {
  std::string p = OneRecord(0, 0);
  p[0] = static_cast<char>(p[0] + 1);
  EXPECT_EQ(Validate(WithPayload(p, 1)), ReadError::kRecordFraming);
}

TEST(RecordFraming, LengthNotMatchingFieldsIsFramingError) {
  std::string p = OneRecord(0, 0) + "x";
  p[0] = static_cast<char>(p[0] + 1);  // covers one byte the fields do not use
  EXPECT_EQ(Validate(WithPayload(p, 1)), ReadError::kRecordFraming);
}

TEST(RecordFraming, OffsetDeltaNotTheRecordIndexIsFramingError) {
  EXPECT_EQ(Validate(WithPayload(OneRecord(0, 0) + OneRecord(2, 0), 2)), ReadError::kRecordFraming);
}

TEST(RecordFraming, TimestampAboveBatchMaximumIsFramingError) {
  EXPECT_EQ(Validate(WithPayload(OneRecord(0, 0) + OneRecord(1, 5), 2, /*max_ts=*/4)),
            ReadError::kRecordFraming);
}

TEST(RecordFraming, FirstRecordTimeNotTheBatchFirstTimeIsFramingError) {
  EXPECT_EQ(Validate(WithPayload(OneRecord(0, -1), 1)), ReadError::kRecordFraming);
}

TEST(RecordFraming, OverlongVarintIsFramingError) {
  const std::string p = std::string("\x06\x00", 2) + std::string(5, '\xff');
  EXPECT_EQ(Validate(WithPayload(p, 1)), ReadError::kRecordFraming);
}

TEST(BatchFormat, ReadErrorNamesAreDistinct) {
  std::vector<std::string> names;
  for (int e = 0; e <= static_cast<int>(ReadError::kIoError); ++e) {
    const std::string name = ReadErrorName(static_cast<ReadError>(e));
    for (const std::string& other : names) EXPECT_NE(name, other);
    names.push_back(name);
  }
  EXPECT_STREQ(ReadErrorName(ReadError::kHeaderCrc), "header crc mismatch");
}

}  // namespace
}  // namespace telemq::storage
