#include "broker/router/side_table.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace telemq::router {
namespace {

TEST(SideTable, AcquireOnAnEmptySlotCreatesAnEntryAndKeepsItsIndex) {
  SideTable<std::vector<int>> t;
  uint32_t a = 0;
  t.Acquire(a).push_back(1);
  EXPECT_NE(a, 0u);  // 0 stays "none"
  const uint32_t first = a;
  t.Acquire(a).push_back(2);  // the same entry again
  EXPECT_EQ(a, first);
  EXPECT_EQ(t[a], (std::vector<int>{1, 2}));
}

TEST(SideTable, ReleasedSlotsAreReusedAndTheirEntriesStartEmpty) {
  SideTable<std::vector<int>> t;
  uint32_t a = 0, b = 0;
  t.Acquire(a).push_back(1);
  t.Acquire(b).push_back(2);
  const uint32_t freed = a;
  t.Release(a);
  EXPECT_EQ(a, 0u);
  uint32_t c = 0;
  EXPECT_TRUE(t.Acquire(c).empty());
  EXPECT_EQ(c, freed);
  EXPECT_EQ(t[b], std::vector<int>{2});
}

TEST(SideTable, TheLastReleaseGivesTheMemoryBack) {
  SideTable<std::string> fresh;
  SideTable<std::string> t;
  std::vector<uint32_t> slots(1000, 0);
  for (uint32_t& s : slots) t.Acquire(s) = std::string(100, 'x');
  EXPECT_GT(t.MemoryUsage(), fresh.MemoryUsage());
  for (uint32_t& s : slots) t.Release(s);
  EXPECT_EQ(t.MemoryUsage(), fresh.MemoryUsage());
  EXPECT_EQ(t.entries().size(), 1u);
}

}  // namespace
}  // namespace telemq::router
