// Partition reading: LogReader from any offset, across segments, bounded by
// the written offset; OffsetForTime; Segments and size_bytes.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/log_test_util.h"
#include "storage/mem_env.h"
#include "storage/partition.h"

namespace telemq::storage {
namespace {

using testing::AppendRecords;
using ::testing::HasSubstr;
using testing::ReadAll;

class PartitionReadTest : public ::testing::Test {
 protected:
  // 1000 records over several small segments, with a sparse index entry
  // every 512 bytes.
  void SetUp() override {
    options_ = {
        .dir = "/p", .segment_bytes = 8192, .index_interval_bytes = 512, .max_batch_bytes = 300};
    absl::StatusOr<std::unique_ptr<Partition>> p = Partition::Open(&env_, options_, &report_);
    ASSERT_TRUE(p.ok()) << p.status();
    p_ = *std::move(p);
    for (int i = 0; i < 10; ++i) {
      AppendRecords(*p_, 100);
      ASSERT_TRUE(p_->FlushNow(i % 2 == 0).ok());
    }
  }

  MemEnv env_;
  PartitionOptions options_;
  RecoveryReport report_;
  std::unique_ptr<Partition> p_;
};

TEST_F(PartitionReadTest, ReadsEveryRecordInOrderAcrossSegments) {
  ASSERT_GT(p_->Segments().size(), 3u);
  auto records = ReadAll(*p_, 0);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 1000u);
  for (uint64_t i = 0; i < 1000; ++i) {
    ASSERT_EQ((*records)[i].offset, i);
    ASSERT_TRUE(testing::IsExpected((*records)[i])) << i;
  }
}

TEST_F(PartitionReadTest, ReaderStartsAtAnyOffset) {
  for (uint64_t from : {1, 9, 10, 99, 100, 257, 500, 731, 998, 999, 1000}) {
    auto records = ReadAll(*p_, from);
    ASSERT_TRUE(records.ok()) << records.status();
    ASSERT_EQ(records->size(), 1000 - from) << from;
    if (!records->empty()) {
      EXPECT_EQ(records->front().offset, from);
    }
  }
}

TEST_F(PartitionReadTest, PositionIsTheNextOffset) {
  auto reader = *p_->NewReader(500);
  EXPECT_EQ(reader->position(), 500u);
  Record r;
  ASSERT_TRUE(*reader->Next(&r));
  EXPECT_EQ(r.offset, 500u);
  EXPECT_EQ(reader->position(), 501u);
}

TEST_F(PartitionReadTest, ReaderStopsAtTheWrittenOffsetWhenCreated) {
  auto reader = *p_->NewReader(990);
  AppendRecords(*p_, 50);
  ASSERT_TRUE(p_->FlushNow(true).ok());
  int n = 0;
  Record r;
  while (*reader->Next(&r)) ++n;
  EXPECT_EQ(n, 10);
  EXPECT_EQ(ReadAll(*p_, 990)->size(), 60u);
}

TEST_F(PartitionReadTest, UnwrittenRecordsAreNotRead) {
  AppendRecords(*p_, 5);
  EXPECT_EQ(ReadAll(*p_, 0)->size(), 1000u);
  EXPECT_EQ(p_->NewReader(1001).status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(PartitionReadTest, OffsetBelowTheStartIsOutOfRange) {
  ASSERT_GT(p_->ApplyRetention({.max_bytes = 1}, 0).deleted_segments, 0u);
  absl::StatusOr<std::unique_ptr<LogReader>> r = p_->NewReader(0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("deleted by retention"));
  EXPECT_TRUE(p_->NewReader(p_->start_offset()).ok());
}

TEST_F(PartitionReadTest, DamageIsReportedWithTheFileAndPosition) {
  const SegmentInfo s = p_->Segments()[1];
  testing::FlipByte(env_, s.path, 100);
  absl::StatusOr<std::vector<testing::OwnedRecord>> records = ReadAll(*p_, 0);
  ASSERT_FALSE(records.ok());
  EXPECT_EQ(records.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(records.status().message()),
              HasSubstr(s.path + ": payload crc mismatch at byte 0"));
}

TEST_F(PartitionReadTest, OffsetForTimeFindsTheFirstRecordAtOrAfter) {
  EXPECT_EQ(*p_->OffsetForTime(0), 0u);
  EXPECT_EQ(*p_->OffsetForTime(testing::TimeFor(0)), 0u);
  for (uint64_t off : {1, 333, 334, 777, 999}) {
    EXPECT_EQ(*p_->OffsetForTime(testing::TimeFor(off)), off);
    EXPECT_EQ(*p_->OffsetForTime(testing::TimeFor(off) - 1), off);
  }
  EXPECT_EQ(*p_->OffsetForTime(testing::TimeFor(999) + 1), p_->next_offset());
}

TEST(PartitionTimeTest, OffsetForTimeWithTimesOutOfOrder) {
  MemEnv env;
  auto p = *Partition::Open(&env, {.dir = "/p", .index_interval_bytes = 64, .max_batch_bytes = 128},
                            nullptr);
  // Times go back once (a clock step): 100..199, then 50..149.
  for (int64_t t = 100; t < 200; ++t) ASSERT_TRUE(p->Append(0, "k", "v", t).ok());
  for (int64_t t = 50; t < 150; ++t) ASSERT_TRUE(p->Append(0, "k", "v", t).ok());
  ASSERT_TRUE(p->FlushNow(true).ok());
  EXPECT_EQ(*p->OffsetForTime(150), 50u);
  EXPECT_EQ(*p->OffsetForTime(60), 0u);
  EXPECT_EQ(*p->OffsetForTime(199), 99u);
  EXPECT_EQ(*p->OffsetForTime(200), 200u);
}

TEST_F(PartitionReadTest, SegmentsDescribeTheLog) {
  const std::vector<SegmentInfo> segments = p_->Segments();
  uint64_t total = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const SegmentInfo& s = segments[i];
    EXPECT_EQ(s.active, i + 1 == segments.size());
    EXPECT_EQ(s.first_timestamp_ns, testing::TimeFor(s.base_offset));
    EXPECT_EQ(s.max_timestamp_ns, testing::TimeFor(s.end_offset - 1));
    if (i > 0) {
      EXPECT_EQ(s.base_offset, segments[i - 1].end_offset);
    }
    EXPECT_EQ(s.bytes, env_.Contents(s.path)->size());
    total += s.bytes;
  }
  EXPECT_EQ(p_->size_bytes(), total);
  EXPECT_EQ(segments.back().end_offset, 1000u);
}

}  // namespace
}  // namespace telemq::storage
