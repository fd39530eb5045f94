// Copyright telemq authors.
#include "broker/router/subscription_trie.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace telemq::router {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

struct Got {
  int qos = 0;
  bool rap = false;
  std::vector<uint32_t> ids;  // sorted
  bool operator==(const Got&) const = default;
};

// Ordinary deliveries by session; fails if a session appears twice.
std::map<SessionId, Got> Ordinary(SubscriptionTrie& t, std::string_view topic,
                                  SessionId publisher = kNoSession) {
  MatchResult out;
  t.Match(topic, publisher, &out);
  std::map<SessionId, Got> got;
  for (const Delivery& d : out.deliveries()) {
    if (d.shared) continue;
    auto ids = out.subscription_ids(d);
    Got g{d.qos, d.retain_as_published, {ids.begin(), ids.end()}};
    std::sort(g.ids.begin(), g.ids.end());
    EXPECT_TRUE(got.emplace(d.session, g).second) << "session " << d.session << " twice";
  }
  return got;
}

std::vector<SessionId> Sessions(SubscriptionTrie& t, std::string_view topic) {
  std::vector<SessionId> s;
  for (const auto& [session, got] : Ordinary(t, topic)) s.push_back(session);
  return s;
}

std::vector<SessionId> SharedPicks(SubscriptionTrie& t, std::string_view topic,
                                   SharedSelection sel = SharedSelection::All()) {
  MatchResult out;
  t.Match(topic, kNoSession, &out, sel);
  std::vector<SessionId> s;
  for (const Delivery& d : out.deliveries()) {
    if (d.shared) s.push_back(d.session);
  }
  return s;
}

TEST(SubscriptionTrie, PlusMatchesExactlyOneLevel) {
  SubscriptionTrie t;
  t.Subscribe(1, "a/+/c", {});
  EXPECT_THAT(Sessions(t, "a/b/c"), ElementsAre(1));
  EXPECT_THAT(Sessions(t, "a/b/x/c"), IsEmpty());
  EXPECT_THAT(Sessions(t, "a/c"), IsEmpty());
}

TEST(SubscriptionTrie, PlusMatchesEmptyLevel) {
  SubscriptionTrie t;
  t.Subscribe(1, "a/+/c", {});
  t.Subscribe(2, "+", {});
  EXPECT_THAT(Sessions(t, "a//c"), ElementsAre(1));
  EXPECT_THAT(Sessions(t, "/"), IsEmpty());
  EXPECT_THAT(Sessions(t, ""), ElementsAre(2));
}

TEST(SubscriptionTrie, HashMatchesParent) {
  SubscriptionTrie t;
  t.Subscribe(1, "a/#", {});
  t.Subscribe(2, "a/+/#", {});
  EXPECT_THAT(Sessions(t, "a"), ElementsAre(1));
  EXPECT_THAT(Sessions(t, "a/b"), ElementsAre(1, 2));
  EXPECT_THAT(Sessions(t, "a/b/c/d"), ElementsAre(1, 2));
  EXPECT_THAT(Sessions(t, "b"), IsEmpty());
}

TEST(SubscriptionTrie, HashAloneMatchesEverythingExceptDollarTopics) {
  SubscriptionTrie t;
  t.Subscribe(1, "#", {});
  EXPECT_THAT(Sessions(t, "a"), ElementsAre(1));
  EXPECT_THAT(Sessions(t, "/"), ElementsAre(1));
  EXPECT_THAT(Sessions(t, "a/b/c"), ElementsAre(1));
  EXPECT_THAT(Sessions(t, "$SYS/broker/load"), IsEmpty());
  EXPECT_THAT(Sessions(t, "$x"), IsEmpty());
}

TEST(SubscriptionTrie, DollarSysNotMatchedByLeadingWildcardButByDollarSysHash) {
  SubscriptionTrie t;
  t.Subscribe(1, "+/broker/load", {});
  t.Subscribe(2, "$SYS/#", {});
  t.Subscribe(3, "$SYS/+/load", {});
  EXPECT_THAT(Sessions(t, "$SYS/broker/load"), ElementsAre(2, 3));
  EXPECT_THAT(Sessions(t, "SYS/broker/load"), ElementsAre(1));
}

TEST(SubscriptionTrie, OverlappingSubscriptionsDeliveredOnceAtHighestQos) {
  SubscriptionTrie t;
  t.Subscribe(1, "a/b", {.qos = 0});
  t.Subscribe(1, "a/+", {.qos = 2});
  t.Subscribe(1, "#", {.qos = 1});
  t.Subscribe(2, "a/b", {.qos = 1});
  const auto got = Ordinary(t, "a/b");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got.at(1).qos, 2);
  EXPECT_EQ(got.at(2).qos, 1);
}

TEST(SubscriptionTrie, SubscriptionIdsCollectedFromEveryMatchingSubscription) {
  SubscriptionTrie t;
  t.Subscribe(1, "a/b", {.subscription_id = 10});
  t.Subscribe(1, "a/+", {.subscription_id = 11});
  t.Subscribe(1, "a/#", {});  // no identifier
  t.Subscribe(2, "a/#", {.subscription_id = 7});
  const auto got = Ordinary(t, "a/b");
  EXPECT_THAT(got.at(1).ids, ElementsAre(10, 11));
  EXPECT_THAT(got.at(2).ids, ElementsAre(7));
  EXPECT_THAT(Ordinary(t, "a/c").at(1).ids, ElementsAre(11));
}

TEST(SubscriptionTrie, RetainAsPublishedIsOredAcrossOverlaps) {
  SubscriptionTrie t;
  t.Subscribe(1, "a/b", {.retain_as_published = false});
  t.Subscribe(1, "a/+", {.retain_as_published = true});
  EXPECT_TRUE(Ordinary(t, "a/b").at(1).rap);
  EXPECT_FALSE(Ordinary(t, "x").count(1));
}

TEST(SubscriptionTrie, NoLocalSkipsPublishersOwnSubscriptions) {
  SubscriptionTrie t;
  t.Subscribe(1, "a/b", {.no_local = true});
  t.Subscribe(2, "a/b", {.no_local = true});
  t.Subscribe(3, "a/b", {});
  EXPECT_THAT(Ordinary(t, "a/b", /*publisher=*/1), (std::map<SessionId, Got>{{2, {}}, {3, {}}}));
  t.Subscribe(1, "a/#", {.qos = 1});  // without no_local: still receives
  EXPECT_EQ(Ordinary(t, "a/b", 1).at(1).qos, 1);
  EXPECT_EQ(Ordinary(t, "a/b", kNoSession).size(), 3u);
}

TEST(SubscriptionTrie, ResubscribeReplacesOptions) {
  SubscriptionTrie t;
  EXPECT_EQ(t.Subscribe(1, "a/b", {.qos = 0, .subscription_id = 5}).replaced, false);
  const SubscribeResult r = t.Subscribe(1, "a/b", {.qos = 2, .subscription_id = 6});
  EXPECT_TRUE(r.replaced);
  EXPECT_FALSE(r.interest_added);
  EXPECT_EQ(t.subscription_count(), 1u);
  const auto got = Ordinary(t, "a/b");
  EXPECT_EQ(got.at(1).qos, 2);
  EXPECT_THAT(got.at(1).ids, ElementsAre(6));
}

TEST(SubscriptionTrie, InterestAppearsWithFirstAndDisappearsWithLastSubscriber) {
  SubscriptionTrie t;
  EXPECT_TRUE(t.Subscribe(1, "a/+", {}).interest_added);
  EXPECT_FALSE(t.Subscribe(2, "a/+", {}).interest_added);
  EXPECT_TRUE(t.Subscribe(3, "$share/g/a/+", {}).interest_added);  // separate string
  EXPECT_FALSE(t.Subscribe(4, "$share/g/a/+", {}).interest_added);
  EXPECT_TRUE(t.Subscribe(4, "$share/h/a/+", {}).interest_added);
  EXPECT_EQ(t.Unsubscribe(1, "a/+").interest_removed, false);
  EXPECT_EQ(t.Unsubscribe(2, "a/+").interest_removed, true);
  EXPECT_EQ(t.Unsubscribe(3, "$share/g/a/+").interest_removed, false);
  EXPECT_EQ(t.Unsubscribe(4, "$share/g/a/+").interest_removed, true);
}

TEST(SubscriptionTrie, UnsubscribeUnknownIsNotFound) {
  SubscriptionTrie t;
  t.Subscribe(1, "a/b", {});
  EXPECT_FALSE(t.Unsubscribe(2, "a/b").found);
  EXPECT_FALSE(t.Unsubscribe(1, "a/c").found);
  EXPECT_FALSE(t.Unsubscribe(1, "a").found);
  EXPECT_FALSE(t.Unsubscribe(1, "$share/g/a/b").found);
  EXPECT_TRUE(t.Unsubscribe(1, "a/b").found);
  EXPECT_FALSE(t.Unsubscribe(1, "a/b").found);
}

TEST(SubscriptionTrie, SharedGroupDeliversToOneMemberRoundRobin) {
  SubscriptionTrie t;
  t.Subscribe(1, "$share/g/a/+", {});
  t.Subscribe(2, "$share/g/a/+", {});
  t.Subscribe(3, "$share/g/a/+", {});
  std::vector<SessionId> picks;
  for (int i = 0; i < 6; ++i) {
    const auto p = SharedPicks(t, "a/x");
    ASSERT_EQ(p.size(), 1u);
    picks.push_back(p[0]);
  }
  EXPECT_THAT(picks, ElementsAre(1, 2, 3, 1, 2, 3));
  EXPECT_THAT(Sessions(t, "a/x"), IsEmpty());  // no ordinary delivery
}

TEST(SubscriptionTrie, SharedGroupsAreIndependentPerGroupAndFilter) {
  SubscriptionTrie t;
  t.Subscribe(1, "$share/g/a/+", {});
  t.Subscribe(2, "$share/h/a/+", {});
  t.Subscribe(3, "$share/g/a/#", {});
  EXPECT_THAT(SharedPicks(t, "a/x"), UnorderedElementsAre(1, 2, 3));
}

TEST(SubscriptionTrie, SharedMemberAlsoOrdinarySubscriberReceivesTwice) {
  SubscriptionTrie t;
  t.Subscribe(1, "$share/g/a/b", {.qos = 1, .subscription_id = 4});
  t.Subscribe(1, "a/b", {.qos = 0});
  MatchResult out;
  t.Match("a/b", kNoSession, &out);
  ASSERT_EQ(out.size(), 2u);
  int shared = 0;
  for (const Delivery& d : out.deliveries()) {
    EXPECT_EQ(d.session, 1u);
    if (d.shared) {
      ++shared;
      EXPECT_EQ(d.qos, 1);
      EXPECT_THAT(out.subscription_ids(d), ElementsAre(4));
    }
  }
  EXPECT_EQ(shared, 1);
}

TEST(SubscriptionTrie, SharedSelectionServesOnlyListedGroups) {
  SubscriptionTrie t;
  t.Subscribe(1, "$share/g/a/b", {});
  t.Subscribe(2, "$share/h/a/b", {});
  const SharedGroupKey g = SharedKeyOf("g", "a/b");
  EXPECT_THAT(SharedPicks(t, "a/b", SharedSelection::Only({&g, 1})), ElementsAre(1));
  EXPECT_THAT(SharedPicks(t, "a/b", SharedSelection::None()), IsEmpty());
}

TEST(SubscriptionTrie, SharedRoundRobinSurvivesMemberRemoval) {
  SubscriptionTrie t;
  for (SessionId s : {1, 2, 3}) t.Subscribe(s, "$share/g/t", {});
  EXPECT_THAT(SharedPicks(t, "t"), ElementsAre(1));
  EXPECT_THAT(SharedPicks(t, "t"), ElementsAre(2));
  t.Unsubscribe(1, "$share/g/t");
  EXPECT_THAT(SharedPicks(t, "t"), ElementsAre(3));
  EXPECT_THAT(SharedPicks(t, "t"), ElementsAre(2));
  t.Unsubscribe(3, "$share/g/t");
  EXPECT_THAT(SharedPicks(t, "t"), ElementsAre(2));
}

TEST(SubscriptionTrie, UnsubscribeOfLastSubscriberFreesNodes) {
  SubscriptionTrie t;
  const size_t empty_nodes = t.node_count();
  const size_t empty_bytes = t.MemoryUsage();
  t.Subscribe(1, "a/b/c", {});
  t.Subscribe(2, "a/b/c", {});
  t.Subscribe(1, "a/+/#", {});
  t.Subscribe(3, "$share/g/a/b", {});
  t.Subscribe(3, "/x//y/", {});
  EXPECT_GT(t.node_count(), empty_nodes);
  t.Unsubscribe(1, "a/b/c");
  EXPECT_GT(t.node_count(), empty_nodes);
  t.Unsubscribe(2, "a/b/c");
  t.Unsubscribe(1, "a/+/#");
  t.Unsubscribe(3, "$share/g/a/b");
  t.Unsubscribe(3, "/x//y/");
  EXPECT_EQ(t.node_count(), empty_nodes);
  EXPECT_EQ(t.level_count(), 0u);
  EXPECT_EQ(t.subscription_count(), 0u);
  EXPECT_LE(t.MemoryUsage(), empty_bytes + 64);  // only the session scratch
}

TEST(SubscriptionTrie, UnsubscribeAllRemovesListedSubscriptionsAndReportsInterest) {
  SubscriptionTrie t;
  t.Subscribe(1, "a/b", {});
  t.Subscribe(1, "c/#", {});
  t.Subscribe(2, "a/b", {});
  const std::vector<std::string_view> subs = {"a/b", "c/#", "never/subscribed"};
  std::vector<std::string_view> gone;
  EXPECT_EQ(t.UnsubscribeAll(1, subs, &gone), 2u);
  EXPECT_THAT(gone, ElementsAre("c/#"));
  EXPECT_THAT(Sessions(t, "a/b"), ElementsAre(2));
  EXPECT_THAT(Sessions(t, "c"), IsEmpty());
}

TEST(SubscriptionTrie, VersionChangesOnEveryMutation) {
  SubscriptionTrie t;
  const uint64_t v0 = t.version();
  t.Subscribe(1, "a", {});
  const uint64_t v1 = t.version();
  EXPECT_NE(v0, v1);
  t.Unsubscribe(2, "a");  // not found: nothing changed
  EXPECT_EQ(t.version(), v1);
  t.Unsubscribe(1, "a");
  EXPECT_NE(t.version(), v1);
}

TEST(SubscriptionTrie, MatchResultReusedWithoutStaleEntries) {
  SubscriptionTrie t;
  t.Subscribe(1, "a", {.subscription_id = 3});
  MatchResult out;
  t.Match("a", kNoSession, &out);
  EXPECT_EQ(out.size(), 1u);
  t.Match("b", kNoSession, &out);
  EXPECT_TRUE(out.empty());
}

TEST(SubscriptionTrie, MatchBatchGivesEachRequestItsOwnResult) {
  SubscriptionTrie t;
  t.Subscribe(1, "a/+", {.qos = 1, .subscription_id = 9});
  t.Subscribe(1, "a/b", {.qos = 2});
  t.Subscribe(2, "#", {.no_local = true});
  t.Subscribe(3, "$share/g/a/b", {});
  t.Subscribe(4, "$share/g/a/b", {});
  const SharedGroupKey none[] = {0};
  const MatchRequest requests[] = {{"a/b", kNoSession},
                                   {"$SYS/x", kNoSession},
                                   {"a/b", 2, SharedSelection::Only(none)},
                                   {"zz", 1}};
  MatchResult outs[4];
  t.MatchBatch(requests, absl::MakeSpan(outs));
  ASSERT_EQ(outs[0].size(), 3u);  // 1 (qos 2, id 9), 2, one of 3/4
  EXPECT_TRUE(outs[1].empty());
  ASSERT_EQ(outs[2].size(), 1u);  // 1 only: 2 is no_local, no group listed
  EXPECT_EQ(outs[2].deliveries()[0].session, 1u);
  EXPECT_EQ(outs[2].deliveries()[0].qos, 2);
  EXPECT_THAT(outs[2].subscription_ids(outs[2].deliveries()[0]), ElementsAre(9));
  ASSERT_EQ(outs[3].size(), 1u);
  EXPECT_EQ(outs[3].deliveries()[0].session, 2u);
}

TEST(SubscriptionTrie, MatchCacheInvalidatedBySubscribeAndUnsubscribe) {
  SubscriptionTrie t;
  t.EnableMatchCache(16);
  t.Subscribe(1, "a/+", {});
  EXPECT_THAT(Sessions(t, "a/b"), ElementsAre(1));
  EXPECT_THAT(Sessions(t, "a/b"), ElementsAre(1));  // hit
  t.Subscribe(2, "a/b", {.qos = 2});
  EXPECT_THAT(Sessions(t, "a/b"), ElementsAre(1, 2));
  t.Unsubscribe(1, "a/+");
  EXPECT_THAT(Sessions(t, "a/b"), ElementsAre(2));
}

TEST(SubscriptionTrie, MatchCacheKeepsNoLocalAndSharedRoundRobinPerMessage) {
  SubscriptionTrie t;
  t.EnableMatchCache(16);
  t.Subscribe(1, "a", {.no_local = true});
  t.Subscribe(2, "a", {});
  EXPECT_EQ(Ordinary(t, "a", kNoSession).size(), 2u);
  EXPECT_EQ(Ordinary(t, "a", 1).size(), 1u);  // cached entry, no_local still applies
  EXPECT_EQ(Ordinary(t, "a", 2).size(), 2u);
  t.Subscribe(3, "$share/g/a", {});
  t.Subscribe(4, "$share/g/a", {});
  EXPECT_THAT(SharedPicks(t, "a"), ElementsAre(3));
  EXPECT_THAT(SharedPicks(t, "a"), ElementsAre(4));
  EXPECT_THAT(SharedPicks(t, "a"), ElementsAre(3));
}

}  // namespace
}  // namespace telemq::router
