#include "storage/segment_index.h"

#include <string>

#include "gtest/gtest.h"
#include "storage/coding.h"
#include "storage/crc32c.h"
#include "storage/mem_env.h"

namespace telemq::storage {
namespace {

BatchHeader Batch(uint64_t base, uint32_t count, uint32_t payload, int64_t first_ts,
                  int64_t max_ts) {
  BatchHeader h;
  h.base_offset = base;
  h.record_count = count;
  h.payload_length = payload;
  h.first_timestamp_ns = first_ts;
  h.max_timestamp_ns = max_ts;
  return h;
}

// Ten batches of 10 records, 152 bytes each; times 100, 200, ... except
// batch 5, whose newest record is far in the future.
SegmentIndex Sample() {
  SegmentIndex index(1000, /*interval_bytes=*/300);
  for (uint64_t i = 0; i < 10; ++i) {
    const int64_t ts = static_cast<int64_t>(i + 1) * 100;
    index.Add(i * 152, Batch(1000 + i * 10, 10, 104, ts, i == 5 ? 5000 : ts + 9));
  }
  return index;
}

TEST(SegmentIndex, EntryAtFirstBatchThenEveryIntervalBytes) {
  const SegmentIndex index = Sample();
  ASSERT_EQ(index.entries().size(), 5u);  // batches 0, 2, 4, 6, 8: 304 bytes apart
  EXPECT_EQ(index.entries()[0].position, 0u);
  EXPECT_EQ(index.entries()[1].position, 2 * 152u);
  EXPECT_EQ(index.entries()[1].relative_offset, 20u);
}

TEST(SegmentIndex, TracksTheSegmentFacts) {
  const SegmentIndex index = Sample();
  EXPECT_EQ(index.covered_bytes(), 10 * 152u);
  EXPECT_EQ(index.end_offset(), 1100u);
  EXPECT_EQ(index.first_timestamp_ns(), 100);
  EXPECT_EQ(index.max_timestamp_ns(), 5000);
}

TEST(SegmentIndex, ForOffsetGivesTheLastEntryAtOrBelow) {
  const SegmentIndex index = Sample();
  EXPECT_EQ(index.ForOffset(1000).position, 0u);
  EXPECT_EQ(index.ForOffset(1019).position, 0u);
  const SegmentIndex::Hint h = index.ForOffset(1020);
  EXPECT_EQ(h.position, 2 * 152u);
  EXPECT_EQ(h.base_offset, 1020u);
  EXPECT_EQ(index.ForOffset(1099).base_offset, 1080u);
  EXPECT_EQ(index.ForOffset(5).position, 0u);  // below the segment
}

TEST(SegmentIndex, ForTimeUsesTheRunningMaximumOfEarlierBatches) {
  const SegmentIndex index = Sample();
  // Entries at batches 0 (max before: none), 2 (209), 4 (409), 6 and 8 (5000, batch 5).
  EXPECT_EQ(index.ForTime(0).position, 0u);
  EXPECT_EQ(index.ForTime(250).base_offset, 1020u);  // batch 1's newest record is 209 < 250
  EXPECT_EQ(index.ForTime(600).base_offset, 1040u);  // batch 6's entry already saw 5000
  EXPECT_EQ(index.ForTime(6000).base_offset, 1080u);
}

TEST(SegmentIndex, EncodeDecodeRoundTrips) {
  const SegmentIndex index = Sample();
  absl::StatusOr<SegmentIndex> decoded = SegmentIndex::Decode(index.Encode(), 1000);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(*decoded == index);
}

TEST(SegmentIndex, EmptyIndexRoundTrips) {
  const SegmentIndex index(7, 64);
  absl::StatusOr<SegmentIndex> decoded = SegmentIndex::Decode(index.Encode(), 7);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->empty());
}

TEST(SegmentIndex, DecodeRejectsADamagedFile) {
  std::string bytes = Sample().Encode();
  bytes[70] ^= 1;
  EXPECT_EQ(SegmentIndex::Decode(bytes, 1000).status().message(), "index crc mismatch");
  EXPECT_FALSE(SegmentIndex::Decode(Sample().Encode().substr(0, 70), 1000).ok());
  EXPECT_FALSE(SegmentIndex::Decode("", 1000).ok());
}

TEST(SegmentIndex, DecodeRejectsAnotherSegmentsIndex) {
  EXPECT_EQ(SegmentIndex::Decode(Sample().Encode(), 999).status().message(),
            "index base offset mismatch");
}

TEST(SegmentIndex, DecodeRejectsEntriesOutOfOrderEvenWithAGoodCrc) {
  std::string bytes = Sample().Encode();
  StoreLe32(bytes.data() + kIndexHeaderSize + kIndexEntrySize + 4, 9999999);  // position
  StoreLe32(bytes.data() + 4, crc32c::Mask(crc32c::Value(bytes.data() + 8, bytes.size() - 8)));
  EXPECT_EQ(SegmentIndex::Decode(bytes, 1000).status().message(), "index bad entry 1");
}

TEST(SegmentIndex, FileRoundTripsThroughTempAndRename) {
  MemEnv env;
  ASSERT_TRUE(env.CreateDir("/p").ok());
  ASSERT_TRUE(WriteIndexFile(&env, "/p/x.idx", Sample()).ok());
  EXPECT_FALSE(env.Exists("/p/x.idx.tmp"));
  absl::StatusOr<SegmentIndex> read = ReadIndexFile(&env, "/p/x.idx", 1000);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(*read == Sample());
}

}  // namespace
}  // namespace telemq::storage
