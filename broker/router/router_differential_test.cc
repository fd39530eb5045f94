// Copyright telemq authors.
//
// Differential tests: random subscribe/unsubscribe sequences over a small
// alphabet of levels (empty levels, leading/trailing slashes, `$` topics,
// shared groups), checking every Match against a brute-force evaluation with
// the reference matcher TopicMatchesFilter. Seeded and reproducible: a
// failure prints the seed and step.
#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "broker/router/interest_trie.h"
#include "broker/router/subscription_trie.h"
#include "broker/router/topic.h"
#include "gtest/gtest.h"

namespace telemq::router {
namespace {

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}
  int Int(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }
  bool Chance(int percent) { return Int(100) < percent; }

  std::string Topic() {
    static constexpr const char* kLevels[] = {"a", "b", "c", "", "$x"};
    std::string t = Chance(15) ? "$SYS" : kLevels[Int(5)];
    for (int n = Int(4); n > 0; --n) t += std::string("/") + kLevels[Int(5)];
    return t;
  }
  std::string Filter() {
    static constexpr const char* kLevels[] = {"a", "b", "", "+", "+", "$x"};
    const int depth = 1 + Int(4);
    std::string f;
    for (int i = 0; i < depth; ++i) {
      if (i > 0) f += '/';
      if (i + 1 == depth && Chance(25)) {
        f += '#';
      } else if (i == 0 && Chance(10)) {
        f += "$SYS";
      } else {
        f += kLevels[Int(6)];
      }
    }
    return f;
  }
  std::string Subscription() {
    std::string f = Filter();
    return Chance(20) ? "$share/g" + std::to_string(Int(2)) + "/" + f : f;
  }
  SubscriptionOptions Options() {
    return {.qos = static_cast<uint8_t>(Int(3)),
            .no_local = Chance(30),
            .retain_as_published = Chance(30),
            .retain_handling = 0,
            .subscription_id = Chance(50) ? static_cast<uint32_t>(1 + Int(1000)) : 0u};
  }

 private:
  std::mt19937 rng_;
};

struct Expect {
  int qos = 0;
  bool rap = false;
  std::vector<uint32_t> ids;
  bool operator==(const Expect&) const = default;
};

using Model = std::map<std::pair<SessionId, std::string>, SubscriptionOptions>;

bool OthersHold(const Model& m, SessionId session, const std::string& sub) {
  for (const auto& [key, o] : m) {
    if (key.second == sub && key.first != session) return true;
  }
  return false;
}

// Checks `out`, the result of a match of `topic` by `publisher`.
void Verify(const Model& model, const std::string& topic, SessionId publisher,
            const MatchResult* out) {
  std::map<SessionId, Expect> want;
  std::map<std::string, std::set<SessionId>> groups;  // matching shared groups
  for (const auto& [key, o] : model) {
    const FilterSpec spec = ParseFilterSpec(key.second);
    if (!TopicMatchesFilter(spec.filter, topic)) continue;
    if (spec.shared()) {
      groups[key.second].insert(key.first);
      continue;
    }
    if (o.no_local && key.first == publisher) continue;
    Expect& e = want[key.first];
    e.qos = std::max<int>(e.qos, o.qos);
    e.rap |= o.retain_as_published;
    if (o.subscription_id != 0) e.ids.push_back(o.subscription_id);
  }
  for (auto& [s, e] : want) std::sort(e.ids.begin(), e.ids.end());

  std::map<SessionId, Expect> got;
  size_t shared = 0;
  for (const Delivery& d : out->deliveries()) {
    if (d.shared) {
      ++shared;
      bool member = false;
      for (const auto& [g, members] : groups) member |= members.count(d.session) != 0;
      EXPECT_TRUE(member) << "shared pick " << d.session << " for " << topic;
      continue;
    }
    auto ids = out->subscription_ids(d);
    Expect e{d.qos, d.retain_as_published, {ids.begin(), ids.end()}};
    std::sort(e.ids.begin(), e.ids.end());
    EXPECT_TRUE(got.emplace(d.session, e).second) << "duplicate session " << d.session;
  }
  EXPECT_EQ(got, want) << "topic '" << topic << "' publisher " << publisher;
  EXPECT_EQ(shared, groups.size()) << "topic '" << topic << "'";
}

void RunSubscriptionDifferential(uint32_t seed, size_t cache_entries) {
  Gen gen(seed);
  SubscriptionTrie trie;
  trie.EnableMatchCache(cache_entries);
  Model model;
  MatchResult out;
  MatchResult batch_out[3];
  for (int step = 0; step < 4000; ++step) {
    SCOPED_TRACE(::testing::Message()
                 << "seed " << seed << " cache " << cache_entries << " step " << step);
    const int op = gen.Int(100);
    const auto session = static_cast<SessionId>(gen.Int(6));
    if (op < 50) {
      const std::string sub = gen.Subscription();
      const SubscriptionOptions o = gen.Options();
      const bool had = model.count({session, sub}) != 0;
      const bool others = OthersHold(model, session, sub);
      const SubscribeResult r = trie.Subscribe(session, sub, o);
      EXPECT_EQ(r.replaced, had) << sub;
      EXPECT_EQ(r.interest_added, !had && !others) << sub;
      model[{session, sub}] = o;
    } else if (op < 80) {
      std::string sub = gen.Subscription();
      if (!model.empty() && gen.Chance(70)) {
        auto it = model.begin();
        std::advance(it, gen.Int(static_cast<int>(model.size())));
        sub = it->first.second;
      }
      const bool had = model.erase({session, sub}) != 0;
      const UnsubscribeResult r = trie.Unsubscribe(session, sub);
      EXPECT_EQ(r.found, had) << sub;
      EXPECT_EQ(r.interest_removed, had && !OthersHold(model, session, sub)) << sub;
    } else {
      // Twice: with a cache, the second is usually a hit.
      const std::string topic = gen.Topic();
      for (int i = 0; i < 2; ++i) {
        const SessionId publisher = gen.Chance(50) ? kNoSession : session;
        trie.Match(topic, publisher, &out);
        Verify(model, topic, publisher, &out);
      }
      // And as part of a batch, with another topic and publisher.
      const std::string other = gen.Topic();
      const SessionId p0 = gen.Chance(50) ? kNoSession : session;
      const SessionId p1 = static_cast<SessionId>(gen.Int(6));
      const MatchRequest batch[] = {{topic, p0}, {other, p1}, {topic, kNoSession}};
      trie.MatchBatch(batch, absl::MakeSpan(batch_out));
      Verify(model, topic, p0, &batch_out[0]);
      Verify(model, other, p1, &batch_out[1]);
      Verify(model, topic, kNoSession, &batch_out[2]);
    }
    ASSERT_EQ(trie.subscription_count(), model.size());
  }
  for (const auto& [key, o] : model) EXPECT_TRUE(trie.Unsubscribe(key.first, key.second).found);
  EXPECT_EQ(trie.node_count(), 1u);
  EXPECT_EQ(trie.level_count(), 0u);
}

class SubscriptionTrieDifferential : public ::testing::TestWithParam<uint32_t> {};

TEST_P(SubscriptionTrieDifferential, MatchesBruteForceOracle) {
  RunSubscriptionDifferential(GetParam(), 0);
}

// Same sequences through the match cache; 8 entries so eviction happens too.
TEST_P(SubscriptionTrieDifferential, CachedMatchesBruteForceOracle) {
  RunSubscriptionDifferential(GetParam(), 8);
}

INSTANTIATE_TEST_SUITE_P(Seeds, SubscriptionTrieDifferential, ::testing::Range(1u, 9u));

class InterestTrieDifferential : public ::testing::TestWithParam<uint32_t> {};

void RunInterestDifferential(uint32_t seed, size_t cache_entries) {
  Gen gen(seed);
  InterestTrie trie;
  trie.EnableMatchCache(cache_entries);
  std::set<std::pair<std::string, uint32_t>> model;
  InterestMatch m;
  static constexpr uint32_t kShards[] = {0, 1, 2, 63};
  for (int step = 0; step < 4000; ++step) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed << " step " << step);
    const int op = gen.Int(100);
    const uint32_t shard = kShards[gen.Int(4)];
    if (op < 50) {
      const std::string sub = gen.Subscription();
      EXPECT_EQ(trie.Add(sub, shard), model.insert({sub, shard}).second);
    } else if (op < 80) {
      std::string sub = gen.Subscription();
      if (!model.empty() && gen.Chance(70)) {
        auto it = model.begin();
        std::advance(it, gen.Int(static_cast<int>(model.size())));
        sub = it->first;
      }
      EXPECT_EQ(trie.Remove(sub, shard), model.erase({sub, shard}) != 0);
    } else {
      const std::string topic = gen.Topic();
      ShardMask want = 0;
      std::map<SharedGroupKey, ShardMask> want_shared;
      for (const auto& [sub, s] : model) {
        const FilterSpec spec = ParseFilterSpec(sub);
        if (!TopicMatchesFilter(spec.filter, topic)) continue;
        if (spec.shared()) {
          want_shared[SharedKeyOf(spec.group, spec.filter)] |= ShardMask{1} << s;
        } else {
          want |= ShardMask{1} << s;
        }
      }
      trie.Match(topic, &m);
      std::map<SharedGroupKey, ShardMask> got_shared;
      for (const SharedInterest& si : m.shared) got_shared[si.key] |= si.shards;
      EXPECT_EQ(m.shards, want) << topic;
      EXPECT_EQ(got_shared, want_shared) << topic;
      EXPECT_EQ(m.shared.size(), want_shared.size()) << topic;
    }
  }
  for (const auto& [sub, s] : model) EXPECT_TRUE(trie.Remove(sub, s));
  EXPECT_EQ(trie.node_count(), 1u);
  EXPECT_EQ(trie.level_count(), 0u);
}

TEST_P(InterestTrieDifferential, MatchesBruteForceOracle) {
  RunInterestDifferential(GetParam(), 0);
}

// A cache of 8 topics: entries are reused, invalidated by changes and
// evicted, and results must stay those of the oracle.
TEST_P(InterestTrieDifferential, CachedMatchesBruteForceOracle) {
  RunInterestDifferential(GetParam(), 8);
}

INSTANTIATE_TEST_SUITE_P(Seeds, InterestTrieDifferential, ::testing::Range(1u, 9u));

}  // namespace
}  // namespace telemq::router
