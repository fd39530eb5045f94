#include "bench/loadgen/sequence_tracker.h"

#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace telemq::bench {
namespace {

using Outcome = SequenceTracker::Outcome;

TEST(SequenceTrackerTest, InOrderStreamHasNoLossDuplicatesOrReordering) {
  SequenceTracker t;
  for (uint64_t s = 0; s < 1000; ++s) EXPECT_EQ(t.Record(s), Outcome::kInOrder);
  EXPECT_EQ(t.distinct(), 1000u);
  EXPECT_EQ(t.Lost(1000), 0u);
  EXPECT_EQ(t.duplicates(), 0u);
  EXPECT_EQ(t.reordered(), 0u);
}

TEST(SequenceTrackerTest, MissingTailCountsAsLost) {
  SequenceTracker t;
  for (uint64_t s = 0; s < 90; ++s) t.Record(s);
  EXPECT_EQ(t.Lost(100), 10u);
}

TEST(SequenceTrackerTest, GapThatNeverFillsIsLost) {
  SequenceTracker t;
  for (uint64_t s : {0, 1, 2, 6, 7}) t.Record(s);
  EXPECT_EQ(t.MissingBelowNext(), 3u);
  EXPECT_EQ(t.Lost(8), 3u);
  EXPECT_EQ(t.next_expected(), 8u);
}

TEST(SequenceTrackerTest, LateArrivalFillsGapAndCountsAsReordered) {
  SequenceTracker t;
  EXPECT_EQ(t.Record(0), Outcome::kInOrder);
  EXPECT_EQ(t.Record(3), Outcome::kAhead);
  EXPECT_EQ(t.Record(2), Outcome::kReordered);  // end of the hole
  EXPECT_EQ(t.Record(1), Outcome::kReordered);  // closes it
  EXPECT_EQ(t.reordered(), 2u);
  EXPECT_EQ(t.Lost(4), 0u);
  EXPECT_EQ(t.MissingBelowNext(), 0u);
}

TEST(SequenceTrackerTest, FillingTheMiddleOfAHoleSplitsIt) {
  SequenceTracker t;
  t.Record(0);
  t.Record(10);  // hole [1, 10)
  t.Record(5);   // -> [1,5) and [6,10)
  EXPECT_EQ(t.Record(5), Outcome::kDuplicate);
  EXPECT_EQ(t.Record(1), Outcome::kReordered);
  EXPECT_EQ(t.Record(9), Outcome::kReordered);
  EXPECT_EQ(t.MissingBelowNext(), 6u);  // 2,3,4,6,7,8
  EXPECT_EQ(t.Lost(11), 6u);
}

TEST(SequenceTrackerTest, RepeatedSequenceIsADuplicateNotADelivery) {
  SequenceTracker t;
  t.Record(0);
  t.Record(1);
  EXPECT_EQ(t.Record(1), Outcome::kDuplicate);
  EXPECT_EQ(t.Record(0), Outcome::kDuplicate);
  EXPECT_EQ(t.received(), 4u);
  EXPECT_EQ(t.distinct(), 2u);
  EXPECT_EQ(t.duplicates(), 2u);
  EXPECT_EQ(t.Lost(2), 0u);
}

TEST(SequenceTrackerTest, SequencesBeyondPublishedCountAreNotCountedAsReceived) {
  SequenceTracker t;
  t.Record(0);
  t.Record(5);
  EXPECT_EQ(t.Lost(3), 2u);  // 1 and 2 missing; 5 is outside [0, 3)
}

// Differential test against a std::set oracle on a shuffled, lossy,
// duplicating stream.
TEST(SequenceTrackerTest, AgreesWithSetOracleOnRandomStreams) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    const uint64_t published = 1 + rng() % 2000;
    std::vector<uint64_t> stream;
    for (uint64_t s = 0; s < published; ++s) {
      if (rng() % 10 == 0) continue;  // lost
      stream.push_back(s);
      if (rng() % 20 == 0) stream.push_back(s);  // duplicated
    }
    // Local reordering: swap neighbours now and then.
    for (size_t i = 1; i < stream.size(); ++i) {
      if (rng() % 8 == 0) std::swap(stream[i - 1], stream[i]);
    }
    SequenceTracker t;
    std::set<uint64_t> seen;
    uint64_t dups = 0;
    for (uint64_t s : stream) {
      const auto outcome = t.Record(s);
      const bool fresh = seen.insert(s).second;
      ASSERT_EQ(outcome == Outcome::kDuplicate, !fresh);
      dups += fresh ? 0 : 1;
    }
    EXPECT_EQ(t.distinct(), seen.size());
    EXPECT_EQ(t.duplicates(), dups);
    EXPECT_EQ(t.Lost(published), published - seen.size());
  }
}

}  // namespace
}  // namespace telemq::bench
