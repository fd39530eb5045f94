// Recovery across checkpoints, retention and queue limits: what a trimmed
// partition's first checkpoint stands for, consumed offsets a later
// checkpoint makes stale, backlogs left in the log.
#include <string>
#include <vector>

#include "broker/persist/records.h"
#include "broker/persist/recovery.h"
#include "broker/persist/recovery_test_fixture.h"
#include "gtest/gtest.h"

namespace telemq::persist {
namespace {

TEST_F(RecoveryTest, ConsumedOffsetsBeyondALaterCheckpointAreStale) {
  // Partition 0 lost its unsynced tail in a power failure (messages at
  // offsets 1-5, delivered before they were durable), while partition 1 kept
  // a consumed record for them. After the restart, partition 0 wrote its
  // checkpoint at its end (offsets 1-2), then new messages took offsets 3-4
  // again: the stale record must not settle them.
  Session(1, 10, "sub", {{"a", {.qos = 1}}});
  Message(0, 11, "a", "m0", 1);
  Consumed(1, 14, "sub", {6, 0});
  Record(0, 20, kRecordCheckpointBegin, "", "");
  Record(0, 21, kRecordCheckpointEnd, "", "");
  const uint64_t first_new = Message(0, 22, "a", "n0", 1);
  const uint64_t second_new = Message(0, 23, "a", "n1", 1);
  ASSERT_EQ(first_new, 3u);
  ASSERT_LT(second_new, 6u);
  const session::RestoredSession* r = Find(Run(), "sub");
  std::vector<std::string> got;
  for (const auto& o : r->queue) got.push_back(Payload(o.message));
  EXPECT_EQ(got, (std::vector<std::string>{"n0", "n1"}));
}

TEST_F(RecoveryTest, CheckpointMarkersAreNotUndecodable) {
  Record(0, 10, kRecordCheckpointBegin, "", "");
  Record(0, 11, kRecordCheckpointEnd, "", "");
  EXPECT_EQ(Run().undecodable_records, 0u);
}

// Retention deleted the oldest segment of partition 0, where the session was
// created; its checkpoint at the start of the next segment stands for it,
// before every record still in the log (docs/persistence.md, Retention).
TEST_F(RecoveryTest, TheFirstCheckpointOfATrimmedPartitionAppliesBeforeEverything) {
  UseSmallSegments();
  Session(0, 10, "sub", {{"a", {.qos = 1}}});
  Message(0, 11, "pad", std::string(3000, 'x'), 1);
  ASSERT_TRUE(partitions_[0]->FlushNow(true).ok());
  // Partition 1 published before partition 0's checkpoint: still owed.
  const uint64_t owed = Message(1, 20, "a", "from p1", 1);
  Message(0, 30, "pad", std::string(3000, 'y'), 1);  // rolls to a new segment
  ASSERT_TRUE(partitions_[0]->FlushNow(true).ok());
  const uint64_t begin = partitions_[0]->next_offset();
  Record(0, 40, kRecordCheckpointBegin, "", "");
  Session(0, 40, "sub", {{"a", {.qos = 1}}});
  Consumed(0, 40, "sub", {0, owed});
  RetainedCopy(0, 40, "r", "v");
  Record(0, 40, kRecordCheckpointEnd, "", "");
  ASSERT_TRUE(partitions_[0]->FlushNow(true).ok());
  storage::RetentionPolicy policy;
  policy.max_bytes = 1;  // delete everything allowed
  policy.needed_from = begin;
  partitions_[0]->ApplyRetention(policy, 100);
  ASSERT_GT(partitions_[0]->start_offset(), 0u);
  ASSERT_LE(partitions_[0]->start_offset(), begin);

  RecoveredState& s = Run();
  EXPECT_TRUE(s.read_errors.empty());
  const session::RestoredSession* r = Find(s, "sub");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->queue.size(), 1u);
  EXPECT_EQ(Payload(r->queue[0].message), "from p1");
  ASSERT_EQ(s.retained.size(), 1u);
}

// Recovery reads a trimmed partition's first checkpoint twice (ahead of the
// merge and in it): what is wrong in it counts once, and a message found in it
// (no broker writes one there) is owed once.
TEST_F(RecoveryTest, TheFirstCheckpointOfATrimmedPartitionCountsAndOwesOnce) {
  UseSmallSegments();
  Message(0, 10, "pad", std::string(3000, 'x'), 1);
  Message(0, 11, "pad", std::string(3000, 'y'), 1);  // rolls to a new segment
  ASSERT_TRUE(partitions_[0]->FlushNow(true).ok());
  const uint64_t begin = partitions_[0]->next_offset();
  Record(0, 40, kRecordCheckpointBegin, "", "");
  Session(0, 40, "sub", {{"a", {.qos = 1}}});
  Record(0, 40, 99, "k", "v");
  Message(0, 40, "a", "inside", 1);
  Record(0, 40, kRecordCheckpointEnd, "", "");
  ASSERT_TRUE(partitions_[0]->FlushNow(true).ok());
  storage::RetentionPolicy policy;
  policy.max_bytes = 1;
  policy.needed_from = begin;
  partitions_[0]->ApplyRetention(policy, 100);
  ASSERT_GT(partitions_[0]->start_offset(), 0u);

  RecoveredState& s = Run();
  EXPECT_TRUE(s.read_errors.empty());
  EXPECT_EQ(s.undecodable_records, 1u);
  const session::RestoredSession* r = Find(s, "sub");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->queue.size(), 1u);
  EXPECT_EQ(Payload(r->queue[0].message), "inside");
}

TEST_F(RecoveryTest, ATrimmedPartitionWithoutACheckpointIsReported) {
  UseSmallSegments();
  for (int i = 0; i < 4; ++i) {
    Message(0, 10 + i, "pad", std::string(3000, 'x'), 1);
    ASSERT_TRUE(partitions_[0]->FlushNow(true).ok());
  }
  storage::RetentionPolicy policy;
  policy.max_bytes = 1;
  partitions_[0]->ApplyRetention(policy, 100);
  ASSERT_GT(partitions_[0]->start_offset(), 0u);
  RecoveredState& s = Run();
  ASSERT_EQ(s.read_errors.size(), 1u);
  EXPECT_NE(s.read_errors[0].find("no complete checkpoint"), std::string::npos);
}

TEST_F(RecoveryTest, ABacklogBeyondTheQueueLimitStaysInTheLog) {
  Session(1, 10, "sub", {{"a", {.qos = 1}}});
  std::vector<uint64_t> offsets;
  offsets.reserve(5);
  for (int i = 0; i < 5; ++i) offsets.push_back(Message(0, 11 + i, "a", std::to_string(i), 1));
  const uint64_t p1 = Message(1, 20, "a", "p1", 1);
  const session::RestoredSession* r = Find(Run(1, 1'000'000, /*max_queued=*/3), "sub");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->queue.size(), 3u);
  EXPECT_EQ(Payload(r->queue[2].message), "2");
  ASSERT_EQ(r->spill_from.size(), 2u);
  EXPECT_EQ(r->spill_from[0], offsets[3]);
  EXPECT_EQ(r->spill_from[1], p1);
}

TEST_F(RecoveryTest, ConsumedOffsetsMoveTheSpilledStartToo) {
  Session(0, 10, "sub", {{"a", {.qos = 1}}});
  std::vector<uint64_t> offsets;
  offsets.reserve(6);
  for (int i = 0; i < 6; ++i) offsets.push_back(Message(0, 11 + i, "a", std::to_string(i), 1));
  Consumed(0, 20, "sub", {offsets[4]});  // 0-3 settled, 2-3 were spilled
  const session::RestoredSession* r = Find(Run(1, 1'000'000, /*max_queued=*/2), "sub");
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->queue.empty());
  ASSERT_FALSE(r->spill_from.empty());
  EXPECT_EQ(r->spill_from[0], offsets[4]);
}

}  // namespace
}  // namespace telemq::persist
