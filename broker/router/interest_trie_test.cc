// Copyright telemq authors.
#include "broker/router/interest_trie.h"

#include <map>
#include <vector>

#include "gtest/gtest.h"

namespace telemq::router {
namespace {

ShardMask Shards(const InterestTrie& t, std::string_view topic) {
  InterestMatch m;
  t.Match(topic, &m);
  return m.shards;
}

std::map<SharedGroupKey, ShardMask> Shared(const InterestTrie& t, std::string_view topic) {
  InterestMatch m;
  t.Match(topic, &m);
  std::map<SharedGroupKey, ShardMask> out;
  for (const SharedInterest& s : m.shared) EXPECT_TRUE(out.emplace(s.key, s.shards).second);
  return out;
}

TEST(InterestTrie, MatchOrsTheShardsOfEveryMatchingFilter) {
  InterestTrie t;
  EXPECT_TRUE(t.Add("a/b", 0));
  EXPECT_TRUE(t.Add("a/+", 3));
  EXPECT_TRUE(t.Add("#", 63));
  EXPECT_TRUE(t.Add("x", 5));
  EXPECT_EQ(Shards(t, "a/b"), (1ull << 0) | (1ull << 3) | (1ull << 63));
  EXPECT_EQ(Shards(t, "a"), 1ull << 63);
}

TEST(InterestTrie, AddAndRemoveReportWhetherTheBitChanged) {
  InterestTrie t;
  EXPECT_TRUE(t.Add("a", 1));
  EXPECT_FALSE(t.Add("a", 1));
  EXPECT_TRUE(t.Add("a", 2));
  EXPECT_TRUE(t.Remove("a", 1));
  EXPECT_FALSE(t.Remove("a", 1));
  EXPECT_FALSE(t.Remove("b", 2));
  EXPECT_EQ(Shards(t, "a"), 1ull << 2);
}

TEST(InterestTrie, DollarTopicsNotMatchedByLeadingWildcard) {
  InterestTrie t;
  t.Add("#", 1);
  t.Add("+/x", 2);
  t.Add("$SYS/#", 4);
  EXPECT_EQ(Shards(t, "$SYS/x"), 1ull << 4);
  EXPECT_EQ(Shards(t, "SYS/x"), (1ull << 1) | (1ull << 2));
}

TEST(InterestTrie, HashMatchesParent) {
  InterestTrie t;
  t.Add("a/#", 7);
  EXPECT_EQ(Shards(t, "a"), 1ull << 7);
  EXPECT_EQ(Shards(t, "ab"), 0u);
}

TEST(InterestTrie, SharedGroupsReportedPerGroupAndFilterNotInShardMask) {
  InterestTrie t;
  t.Add("$share/g/a/+", 1);
  t.Add("$share/g/a/+", 2);
  t.Add("$share/h/a/#", 2);
  t.Add("$share/g/b", 3);
  EXPECT_EQ(Shards(t, "a/x"), 0u);
  EXPECT_EQ(Shared(t, "a/x"),
            (std::map<SharedGroupKey, ShardMask>{{SharedKeyOf("g", "a/+"), 0b110},
                                                 {SharedKeyOf("h", "a/#"), 0b100}}));
  t.Remove("$share/g/a/+", 1);
  EXPECT_EQ(Shared(t, "a/x").at(SharedKeyOf("g", "a/+")), 0b100u);
  t.Remove("$share/g/a/+", 2);
  EXPECT_EQ(Shared(t, "a/x").count(SharedKeyOf("g", "a/+")), 0u);
}

TEST(InterestTrie, RemovingEveryInterestFreesNodes) {
  InterestTrie t;
  const size_t empty_nodes = t.node_count();
  const size_t empty_bytes = t.MemoryUsage();
  t.Add("a/b/c", 1);
  t.Add("a/b/c", 2);
  t.Add("a/+/#", 1);
  t.Add("$share/g/a/b", 3);
  t.Remove("a/b/c", 1);
  t.Remove("a/b/c", 2);
  t.Remove("a/+/#", 1);
  t.Remove("$share/g/a/b", 3);
  EXPECT_EQ(t.node_count(), empty_nodes);
  EXPECT_EQ(t.level_count(), 0u);
  EXPECT_LE(t.MemoryUsage(), empty_bytes + 64);  // only the level scratch
}

TEST(PickShard, TakesTheRotationThSetBit) {
  EXPECT_EQ(PickShard(0b1010, 0), 1u);
  EXPECT_EQ(PickShard(0b1010, 1), 3u);
  EXPECT_EQ(PickShard(0b1010, 2), 1u);
  EXPECT_EQ(PickShard(1ull << 63, 5), 63u);
}

TEST(SharedShardPicker, ShardsWithMembersTakeTurnsEvenWhenThePublishersShardHasOne) {
  // Before: the publisher's own shard served every message while it had a
  // member, so a single publisher's stream never reached the other members.
  SharedShardPicker picker;
  const SharedInterest g{.key = 7, .shards = 0b011};
  std::vector<uint32_t> picks(4);
  for (uint32_t& p : picks) p = picker.Pick(g);
  EXPECT_EQ(picks, (std::vector<uint32_t>{0, 1, 0, 1}));
}

TEST(SharedShardPicker, EachGroupKeepsItsOwnTurns) {
  // One count for all groups gave each of two groups matched by every
  // message the same shard forever (turns 0, 2, 4 ... and 1, 3, 5 ...).
  SharedShardPicker picker;
  const SharedInterest a{.key = 1, .shards = 0b11}, b{.key = 2, .shards = 0b11};
  std::vector<uint32_t> picks_a, picks_b;
  for (int i = 0; i < 4; ++i) {
    picks_a.push_back(picker.Pick(a));
    picks_b.push_back(picker.Pick(b));
  }
  EXPECT_EQ(picks_a, (std::vector<uint32_t>{0, 1, 0, 1}));
  EXPECT_EQ(picks_b, (std::vector<uint32_t>{0, 1, 0, 1}));
}

TEST(SharedShardPicker, ASingleShardWithMembersIsAlwaysPicked) {
  SharedShardPicker picker;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(picker.Pick({.key = 3, .shards = 0b100}), 2u);
}

}  // namespace
}  // namespace telemq::router
