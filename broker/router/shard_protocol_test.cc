// Copyright telemq authors.
//
// The cross-shard protocol of interest_trie.h, simulated in one thread:
// several shards, each with its SubscriptionTrie and InterestTrie replica,
// interest changes applied to every replica, publishes routed through the
// publisher's replica + SharedShardPicker + SharedSelection::Only. Checked against a
// brute-force evaluation over all shards' subscriptions: every ordinary
// subscriber gets the message exactly once (per shard-local session), every
// matching shared group exactly once, to one of its members.
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/router/interest_trie.h"
#include "broker/router/subscription_trie.h"
#include "broker/router/topic.h"
#include "gtest/gtest.h"

namespace telemq::router {
namespace {

constexpr uint32_t kShards = 3;

struct Shard {
  SubscriptionTrie local;
  InterestTrie replica;
};

class Cluster {
 public:
  void Subscribe(uint32_t k, SessionId s, const std::string& sub) {
    if (shards_[k].local.Subscribe(s, sub, {.qos = 1}).interest_added) {
      for (Shard& j : shards_) j.replica.Add(sub, k);
    }
  }
  void Unsubscribe(uint32_t k, SessionId s, const std::string& sub) {
    if (shards_[k].local.Unsubscribe(s, sub).interest_removed) {
      for (Shard& j : shards_) j.replica.Remove(sub, k);
    }
  }
  // Returns (shard, session, shared) per delivery.
  std::multiset<std::tuple<uint32_t, SessionId, bool>> Publish(uint32_t p,
                                                               const std::string& topic) {
    InterestMatch m;
    shards_[p].replica.Match(topic, &m);
    std::vector<SharedGroupKey> keys[kShards];
    ShardMask targets = m.shards;
    for (const SharedInterest& si : m.shared) {
      const uint32_t t = pickers_[p].Pick(si);
      keys[t].push_back(si.key);
      targets |= ShardMask{1} << t;
    }
    std::multiset<std::tuple<uint32_t, SessionId, bool>> got;
    MatchResult out;
    for (uint32_t t = 0; t < kShards; ++t) {
      if ((targets >> t & 1) == 0) continue;
      shards_[t].local.Match(topic, kNoSession, &out, SharedSelection::Only(keys[t]));
      for (const Delivery& d : out.deliveries()) got.insert({t, d.session, d.shared});
    }
    return got;
  }
  const Shard& shard(uint32_t k) const { return shards_[k]; }

 private:
  Shard shards_[kShards];
  SharedShardPicker pickers_[kShards];
};

TEST(ShardProtocol, EveryOrdinarySubscriberOnceEverySharedGroupOnce) {
  std::mt19937 rng(2024);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  const std::vector<std::string> filters = {"a/b", "a/+", "#", "a/#", "+/b", "b", "$SYS/#"};
  const std::vector<std::string> topics = {"a/b", "a/c", "b", "a", "$SYS/x", "c/b"};
  Cluster cluster;
  std::set<std::tuple<uint32_t, SessionId, std::string>> model;  // (shard, session, sub)
  for (int step = 0; step < 3000; ++step) {
    SCOPED_TRACE(step);
    const auto k = static_cast<uint32_t>(pick(kShards));
    const auto s = static_cast<SessionId>(pick(4));
    std::string sub = filters[pick(static_cast<int>(filters.size()))];
    if (pick(3) == 0) sub = absl::StrCat("$share/g", pick(2), "/", sub);
    const int op = pick(10);
    if (op < 5) {
      cluster.Subscribe(k, s, sub);
      model.insert({k, s, sub});
    } else if (op < 8) {
      cluster.Unsubscribe(k, s, sub);
      model.erase({k, s, sub});
    } else {
      const std::string& topic = topics[pick(static_cast<int>(topics.size()))];
      const auto got = cluster.Publish(k, topic);
      std::set<std::tuple<uint32_t, SessionId, bool>> want_ordinary;
      std::map<std::string, std::set<std::pair<uint32_t, SessionId>>> groups;
      for (const auto& [shard, session, m_sub] : model) {
        const FilterSpec spec = ParseFilterSpec(m_sub);
        if (!TopicMatchesFilter(spec.filter, topic)) continue;
        if (spec.shared()) {
          groups[m_sub].insert({shard, session});
        } else {
          want_ordinary.insert({shard, session, false});
        }
      }
      size_t shared = 0;
      std::set<std::tuple<uint32_t, SessionId, bool>> got_ordinary;
      for (const auto& [shard, session, is_shared] : got) {
        if (!is_shared) {
          EXPECT_TRUE(got_ordinary.insert({shard, session, false}).second) << "twice";
          continue;
        }
        ++shared;
        bool member = false;
        for (const auto& [g, members] : groups) member |= members.count({shard, session}) != 0;
        EXPECT_TRUE(member);
      }
      EXPECT_EQ(got_ordinary, want_ordinary) << topic;
      EXPECT_EQ(shared, groups.size()) << topic;
    }
  }
  for (const auto& [shard, session, sub] : model) cluster.Unsubscribe(shard, session, sub);
  for (uint32_t k = 0; k < kShards; ++k) {
    EXPECT_EQ(cluster.shard(k).local.node_count(), 1u);
    EXPECT_EQ(cluster.shard(k).replica.node_count(), 1u);
  }
}

TEST(ShardProtocol, SharedGroupMembersOnEveryShardTakeTurnsWhateverThePublishersShard) {
  Cluster cluster;
  cluster.Subscribe(0, 1, "$share/g/t");
  cluster.Subscribe(2, 1, "$share/g/t");
  for (const uint32_t publisher : {2u, 1u}) {  // a shard with members, then one without
    std::vector<uint32_t> served;
    for (int i = 0; i < 4; ++i) {
      const auto got = cluster.Publish(publisher, "t");
      ASSERT_EQ(got.size(), 1u);
      served.push_back(std::get<0>(*got.begin()));
    }
    EXPECT_EQ(served, (std::vector<uint32_t>{0, 2, 0, 2})) << "publisher on shard " << publisher;
  }
}

}  // namespace
}  // namespace telemq::router
