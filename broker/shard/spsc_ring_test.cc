#include "broker/shard/spsc_ring.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace telemq::shard {
namespace {

TEST(SpscRingTest, CapacityRoundsUpToPowerOfTwo) {
  EXPECT_EQ(SpscRing<int>(5).capacity(), 8u);
  EXPECT_EQ(SpscRing<int>(8).capacity(), 8u);
}

TEST(SpscRingTest, PopsInPushOrder) {
  SpscRing<int> ring(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(ring.TryPush(int{i}));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(ring.TryPop(), i);
  EXPECT_EQ(ring.TryPop(), std::nullopt);
}

TEST(SpscRingTest, FullRingRefusesPushAndKeepsTheValue) {
  SpscRing<std::unique_ptr<int>> ring(2);
  ASSERT_TRUE(ring.TryPush(std::make_unique<int>(1)));
  ASSERT_TRUE(ring.TryPush(std::make_unique<int>(2)));
  auto third = std::make_unique<int>(3);
  EXPECT_FALSE(ring.TryPush(std::move(third)));
  ASSERT_NE(third, nullptr) << "a refused push must not consume the value";
  EXPECT_EQ(**ring.TryPop(), 1);
  EXPECT_TRUE(ring.TryPush(std::move(third)));
}

TEST(SpscRingTest, DestroysItemsLeftInTheRing) {
  auto counter = std::make_shared<int>(0);
  {
    SpscRing<std::shared_ptr<int>> ring(4);
    ASSERT_TRUE(ring.TryPush(std::shared_ptr<int>(counter)));
    ASSERT_TRUE(ring.TryPush(std::shared_ptr<int>(counter)));
    EXPECT_EQ(counter.use_count(), 3);
  }
  EXPECT_EQ(counter.use_count(), 1);
}

TEST(SpscRingTest, StagedItemsAreInvisibleUntilCommitted) {
  SpscRing<int> ring(4);
  ASSERT_TRUE(ring.TryStage(1));
  ASSERT_TRUE(ring.TryStage(2));
  EXPECT_TRUE(ring.EmptyApprox());
  EXPECT_EQ(ring.TryPop(), std::nullopt);
  ring.Commit();
  ASSERT_TRUE(ring.TryPush(3));  // after the staged ones
  EXPECT_EQ(ring.TryPop(), 1);
  EXPECT_EQ(ring.TryPop(), 2);
  EXPECT_EQ(ring.TryPop(), 3);
}

TEST(SpscRingTest, StagingCountsAgainstTheCapacity) {
  SpscRing<int> ring(2);
  ASSERT_TRUE(ring.TryStage(1));
  ASSERT_TRUE(ring.TryStage(2));
  EXPECT_FALSE(ring.TryStage(3));
  EXPECT_FALSE(ring.TryPush(3));
}

TEST(SpscRingTest, ConsumeAllTakesWhatIsCommittedInOrder) {
  SpscRing<std::unique_ptr<int>> ring(8);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ring.TryPush(std::make_unique<int>(i)));
  ASSERT_TRUE(ring.TryStage(std::make_unique<int>(3)));  // not yet visible
  std::vector<int> seen;
  EXPECT_EQ(ring.ConsumeAll([&](std::unique_ptr<int>& p) { seen.push_back(*p); }), 3u);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2}));
  ring.Commit();
  EXPECT_EQ(ring.ConsumeAll([&](std::unique_ptr<int>& p) { seen.push_back(*p); }), 1u);
  EXPECT_EQ(seen.back(), 3);
  EXPECT_EQ(ring.ConsumeAll([](std::unique_ptr<int>&) { FAIL(); }), 0u);
}

TEST(SpscRingTest, DestroysStagedItems) {
  auto counter = std::make_shared<int>(0);
  {
    SpscRing<std::shared_ptr<int>> ring(4);
    ASSERT_TRUE(ring.TryStage(std::shared_ptr<int>(counter)));
  }
  EXPECT_EQ(counter.use_count(), 1);
}

// Batches staged and committed on one thread, consumed whole on another:
// every item once, in order (and, under tsan, correctly published).
TEST(SpscRingTest, StagedBatchesTransferInOrderAcrossThreads) {
  constexpr int kItems = 200'000;
  SpscRing<std::string> ring(64);
  std::thread producer([&] {
    int i = 0;
    while (i < kItems) {
      for (int batch = 0; batch < 7 && i < kItems; ++batch) {
        std::string item = std::to_string(i);
        if (!ring.TryStage(std::move(item))) break;
        ++i;
      }
      ring.Commit();
      std::this_thread::yield();
    }
  });
  int next = 0;
  while (next < kItems) {
    const size_t n = ring.ConsumeAll([&](std::string& item) {
      ASSERT_EQ(item, std::to_string(next));
      ++next;
    });
    if (n == 0) std::this_thread::yield();
  }
  producer.join();
  EXPECT_TRUE(ring.EmptyApprox());
}

// Two threads, a small ring and many items: every item arrives once and in
// order. Under the tsan preset this also checks the memory ordering.
TEST(SpscRingTest, TransfersEveryItemInOrderAcrossThreads) {
  constexpr int kItems = 200'000;
  SpscRing<std::string> ring(64);
  std::thread producer([&] {
    for (int i = 0; i < kItems; ++i) {
      std::string item = std::to_string(i);
      // A failed TryPush leaves `item` untouched.
      while (!ring.TryPush(std::move(item))) {  // NOLINT(bugprone-use-after-move)
        std::this_thread::yield();
      }
    }
  });
  int next = 0;
  while (next < kItems) {
    if (auto item = ring.TryPop()) {
      ASSERT_EQ(*item, std::to_string(next));
      ++next;
    } else {
      std::this_thread::yield();
    }
  }
  producer.join();
  EXPECT_TRUE(ring.EmptyApprox());
}

}  // namespace
}  // namespace telemq::shard
