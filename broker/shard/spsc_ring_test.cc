#include "broker/shard/spsc_ring.h"

#include <memory>
#include <string>
#include <thread>

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

// Two threads, a small ring and many items: every item arrives once and in
// order. Under the tsan preset this also checks the memory ordering.
TEST(SpscRingTest, TransfersEveryItemInOrderAcrossThreads) {
  constexpr int kItems = 200'000;
  SpscRing<std::string> ring(64);
  std::thread producer([&] {
    for (int i = 0; i < kItems; ++i) {
      std::string item = std::to_string(i);
      while (!ring.TryPush(std::move(item))) std::this_thread::yield();
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
