#include "broker/base/fifo.h"

#include <memory>

#include "gtest/gtest.h"

namespace telemq {
namespace {

TEST(FifoTest, PopsInPushOrder) {
  Fifo<int> q;
  for (int i = 0; i < 100; ++i) q.push_back(i);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(q.front(), i);
    q.pop_front();
  }
  EXPECT_TRUE(q.empty());
}

TEST(FifoTest, InterleavedPushPopKeepsOrderAcrossCompaction) {
  Fifo<int> q;
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    q.push_back(next_in++);
    q.push_back(next_in++);
    ASSERT_EQ(q.front(), next_out++);
    q.pop_front();
  }
  EXPECT_EQ(q.size(), 1000u);
  int expected = next_out;
  for (int v : q) EXPECT_EQ(v, expected++);
}

TEST(FifoTest, PopReleasesTheElementAtOnce) {
  auto shared = std::make_shared<int>(1);
  Fifo<std::shared_ptr<int>> q;
  q.push_back(shared);
  q.push_back(shared);
  q.pop_front();
  EXPECT_EQ(shared.use_count(), 2);
}

TEST(FifoTest, EraseFirstRemovesOnlyTheFirstMatch) {
  Fifo<int> q;
  for (int v : {1, 2, 3, 2}) q.push_back(v);
  EXPECT_TRUE(q.EraseFirst([](int v) { return v == 2; }));
  EXPECT_FALSE(q.EraseFirst([](int v) { return v == 9; }));
  std::vector<int> left(q.begin(), q.end());
  EXPECT_EQ(left, (std::vector<int>{1, 3, 2}));
  EXPECT_TRUE(q.EraseFirst([](int v) { return v == 1; }));
  EXPECT_EQ(q.front(), 3);
}

}  // namespace
}  // namespace telemq
