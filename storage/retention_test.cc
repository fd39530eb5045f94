// ApplyRetention: whole closed segments, oldest first, by size and by age;
// needed records kept unless forced.
#include <string>

#include "gtest/gtest.h"
#include "storage/log_test_util.h"
#include "storage/mem_env.h"
#include "storage/partition.h"

namespace telemq::storage {
namespace {

using testing::AppendRecords;
using testing::TimeFor;

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    p_ = *Partition::Open(&env_, options_, nullptr);
    AppendRecords(*p_, 1000);
    ASSERT_TRUE(p_->FlushNow(true).ok());
    segments_ = p_->Segments();
    ASSERT_GT(segments_.size(), 4u);
  }

  MemEnv env_;
  const PartitionOptions options_{.dir = "/p", .segment_bytes = 4096, .max_batch_bytes = 512};
  std::unique_ptr<Partition> p_;
  std::vector<SegmentInfo> segments_;
};

TEST_F(RetentionTest, NoLimitsDeleteNothing) {
  const RetentionResult r = p_->ApplyRetention({}, TimeFor(5000));
  EXPECT_EQ(r.deleted_segments, 0u);
  EXPECT_EQ(r.start_offset, 0u);
}

TEST_F(RetentionTest, BySizeDeletesOldestSegmentsUntilUnderTheLimit) {
  const uint64_t limit = p_->size_bytes() - segments_[0].bytes - segments_[1].bytes;
  const RetentionResult r = p_->ApplyRetention({.max_bytes = limit}, 0);
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.deleted_segments, 2u);
  EXPECT_EQ(r.deleted_bytes, segments_[0].bytes + segments_[1].bytes);
  EXPECT_EQ(r.start_offset, segments_[2].base_offset);
  EXPECT_EQ(p_->start_offset(), segments_[2].base_offset);
  EXPECT_LE(p_->size_bytes(), limit);
  EXPECT_FALSE(env_.Exists(segments_[0].path));
  EXPECT_FALSE(env_.Exists(testing::IndexPath("/p", 0)));
}

TEST_F(RetentionTest, ByAgeDeletesSegmentsWhoseNewestRecordIsOlder) {
  // Segment 1's newest record is exactly max_age old at `now`: kept.
  const int64_t max_age = 1000;
  const int64_t now = segments_[1].max_timestamp_ns + max_age;
  const RetentionResult r = p_->ApplyRetention({.max_age_ns = max_age}, now);
  EXPECT_EQ(r.deleted_segments, 1u);
  EXPECT_EQ(p_->start_offset(), segments_[1].base_offset);
}

TEST_F(RetentionTest, NeverDeletesTheActiveSegment) {
  const RetentionResult r = p_->ApplyRetention({.max_bytes = 1, .max_age_ns = 1}, INT64_MAX);
  EXPECT_EQ(r.deleted_segments, segments_.size() - 1);
  ASSERT_EQ(p_->Segments().size(), 1u);
  EXPECT_TRUE(p_->Segments()[0].active);
  AppendRecords(*p_, 1);
  EXPECT_TRUE(p_->FlushNow(true).ok());
}

TEST_F(RetentionTest, SegmentsHoldingNeededRecordsAreKept) {
  const uint64_t needed = segments_[2].base_offset + 1;  // inside segment 2
  const RetentionResult r = p_->ApplyRetention({.max_bytes = 1, .needed_from = needed}, 0);
  EXPECT_EQ(r.deleted_segments, 2u);
  EXPECT_EQ(r.kept_needed_segments, segments_.size() - 1 - 2);
  EXPECT_EQ(r.lost_from, r.lost_to);
  EXPECT_EQ(p_->start_offset(), segments_[2].base_offset);
}

TEST_F(RetentionTest, ForcedRetentionDeletesNeededRecordsAndSaysWhich) {
  const uint64_t needed = segments_[1].base_offset + 3;
  const RetentionResult r =
      p_->ApplyRetention({.max_bytes = 1, .needed_from = needed, .force = true}, 0);
  EXPECT_EQ(r.deleted_segments, segments_.size() - 1);
  EXPECT_EQ(r.kept_needed_segments, 0u);
  EXPECT_EQ(r.lost_from, needed);
  EXPECT_EQ(r.lost_to, segments_.back().base_offset);
}

TEST_F(RetentionTest, RemoveFailureStopsAndIsReported) {
  env_.FailNext(MemEnv::Op::kRemove, 1, EACCES);
  const RetentionResult r = p_->ApplyRetention({.max_bytes = 1}, 0);
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.deleted_segments, 0u);
  EXPECT_EQ(p_->start_offset(), 0u);
}

TEST_F(RetentionTest, ReopenAfterRetentionStartsAtTheOldestKeptSegment) {
  p_->ApplyRetention({.max_bytes = p_->size_bytes() / 2}, 0);
  const uint64_t start = p_->start_offset();
  p_.reset();
  RecoveryReport report;
  p_ = *Partition::Open(&env_, options_, &report);
  EXPECT_EQ(p_->start_offset(), start);
  EXPECT_EQ(report.start_offset, start);
  EXPECT_EQ(p_->next_offset(), 1000u);
}

}  // namespace
}  // namespace telemq::storage
