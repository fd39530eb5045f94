#include "broker/persist/recovery.h"

#include <string>
#include <vector>

#include "broker/persist/records.h"
#include "broker/persist/recovery_test_fixture.h"
#include "gtest/gtest.h"

namespace telemq::persist {
namespace {

TEST_F(RecoveryTest, EmptyLogRecoversNothing) {
  RecoveredState s = Run();
  EXPECT_TRUE(s.retained.empty());
  ASSERT_EQ(s.sessions.size(), 1u);
  EXPECT_TRUE(s.sessions[0].empty());
}

TEST_F(RecoveryTest, LastRetainedMessagePerTopicWins) {
  Message(0, 10, "a", "one", 1, /*retain=*/true);
  Message(1, 20, "a", "two", 0, /*retain=*/true);
  Message(0, 30, "b", "keep", 1, /*retain=*/true);
  RecoveredState s = Run();
  ASSERT_EQ(s.retained.size(), 2u);
  for (const MessageRef& m : s.retained) {
    EXPECT_EQ(Payload(m), m->topic() == "a" ? "two" : "keep");
    EXPECT_TRUE(m->retain());
    EXPECT_TRUE(m->logged());
  }
}

TEST_F(RecoveryTest, EmptyRetainedPayloadClearsTheTopic) {
  Message(0, 10, "a", "one", 1, true);
  Message(1, 20, "a", "", 1, true);
  EXPECT_TRUE(Run().retained.empty());
}

TEST_F(RecoveryTest, PersistentSessionIsOwedMessagesPublishedAfterItsSubscription) {
  Session(1, 10, "sub", {{"a/#", {.qos = 1}}});
  const uint64_t off = Message(0, 20, "a/b", "m1", 1);
  RecoveredState s = Run();
  const session::RestoredSession* r = Find(s, "sub");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->queue.size(), 1u);
  EXPECT_EQ(Payload(r->queue[0].message), "m1");
  EXPECT_EQ(r->queue[0].qos, 1);
  EXPECT_EQ(r->queue[0].message->log_partition(), 0u);
  EXPECT_EQ(r->queue[0].message->log_offset(), off);
  EXPECT_EQ(s.owed_messages, 1u);
  ASSERT_EQ(r->state.subscriptions.size(), 1u);
  EXPECT_EQ(r->state.subscriptions[0].first, "a/#");
}

TEST_F(RecoveryTest, MessagesBeforeTheSubscriptionAreNotOwed) {
  Message(0, 5, "a/b", "early", 1);
  Session(1, 10, "sub", {{"a/#", {.qos = 1}}});
  EXPECT_TRUE(Find(Run(), "sub")->queue.empty());
}

TEST_F(RecoveryTest, PartitionsAreMergedByTime) {
  Session(1, 10, "sub", {{"a/#", {.qos = 2}}});
  Message(0, 12, "a/x", "p0-12", 2);
  Message(1, 11, "a/y", "p1-11", 1);
  Message(1, 14, "a/y", "p1-14", 1);
  Message(0, 13, "a/x", "p0-13", 1);
  const session::RestoredSession* r = Find(Run(), "sub");
  ASSERT_NE(r, nullptr);
  std::vector<std::string> got;
  for (const auto& o : r->queue) got.push_back(Payload(o.message));
  EXPECT_EQ(got, (std::vector<std::string>{"p1-11", "p0-12", "p0-13", "p1-14"}));
  EXPECT_EQ(r->queue[1].qos, 2);
}

TEST_F(RecoveryTest, ConsumedOffsetsDropSettledMessages) {
  Session(1, 10, "sub", {{"a", {.qos = 1}}});
  Message(0, 11, "a", "m0", 1);
  const uint64_t second = Message(0, 12, "a", "m1", 1);
  Message(0, 13, "a", "m2", 1);
  Consumed(1, 14, "sub", {second, 0});  // m0 settled; m1 and m2 pending
  const session::RestoredSession* r = Find(Run(), "sub");
  ASSERT_EQ(r->queue.size(), 2u);
  EXPECT_EQ(Payload(r->queue[0].message), "m1");
  EXPECT_EQ(Payload(r->queue[1].message), "m2");
}

TEST_F(RecoveryTest, RestoredSessionHasConsumedEverythingUpToEachPartitionEnd) {
  Session(1, 10, "sub", {{"a", {.qos = 1}}});
  Message(0, 11, "a", "m0", 1);
  Message(0, 12, "other", "x", 1);
  RecoveredState s = Run();
  const session::RestoredSession* r = Find(s, "sub");
  ASSERT_EQ(r->consumed.size(), 2u);
  EXPECT_EQ(r->consumed[0], partitions_[0]->written_offset());
  EXPECT_EQ(r->consumed[1], partitions_[1]->written_offset());
}

TEST_F(RecoveryTest, QosIsDowngradedToTheSubscriptionAndQos0IsNotOwed) {
  Session(0, 10, "q0", {{"a", {.qos = 0}}});
  Session(0, 10, "q1", {{"a", {.qos = 1}}});
  Message(0, 11, "a", "two", 2);
  Message(0, 12, "a", "zero", 0);
  RecoveredState s = Run();
  EXPECT_TRUE(Find(s, "q0")->queue.empty());
  const session::RestoredSession* q1 = Find(s, "q1");
  ASSERT_EQ(q1->queue.size(), 1u);
  EXPECT_EQ(q1->queue[0].qos, 1);
}

TEST_F(RecoveryTest, SessionEndForgetsTheSessionAndWhatItWasOwed) {
  Session(0, 10, "sub", {{"a", {.qos = 1}}});
  Message(0, 11, "a", "m", 1);
  End(0, 12, "sub");
  Message(0, 13, "a", "after", 1);
  EXPECT_EQ(Find(Run(), "sub"), nullptr);
}

TEST_F(RecoveryTest, ANewSessionAfterAnEndStartsEmpty) {
  Session(0, 10, "sub", {{"a", {.qos = 1}}});
  Message(0, 11, "a", "old", 1);
  End(0, 12, "sub");
  Session(0, 13, "sub", {{"a", {.qos = 1}}});
  Message(0, 14, "a", "new", 1);
  const session::RestoredSession* r = Find(Run(), "sub");
  ASSERT_EQ(r->queue.size(), 1u);
  EXPECT_EQ(Payload(r->queue[0].message), "new");
}

TEST_F(RecoveryTest, ALaterSessionRecordReplacesTheSubscriptions) {
  Session(0, 10, "sub", {{"a", {.qos = 1}}, {"b", {.qos = 1}}});
  Session(0, 11, "sub", {{"b", {.qos = 1}}});  // unsubscribed from a
  Message(0, 12, "a", "a", 1);
  Message(0, 13, "b", "b", 1);
  const session::RestoredSession* r = Find(Run(), "sub");
  ASSERT_EQ(r->queue.size(), 1u);
  EXPECT_EQ(Payload(r->queue[0].message), "b");
  ASSERT_EQ(r->state.subscriptions.size(), 1u);
}

TEST_F(RecoveryTest, OverlappingSubscriptionsOweOneCopyAtTheHighestQos) {
  Session(0, 10, "sub",
          {{"a/+", {.qos = 1, .subscription_id = 3}}, {"a/#", {.qos = 2, .subscription_id = 4}}});
  Message(0, 11, "a/b", "m", 2);
  const session::RestoredSession* r = Find(Run(), "sub");
  ASSERT_EQ(r->queue.size(), 1u);
  EXPECT_EQ(r->queue[0].qos, 2);
  std::vector<uint32_t> ids = r->queue[0].subscription_ids;
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<uint32_t>{3, 4}));
}

TEST_F(RecoveryTest, NoLocalSkipsTheSessionsOwnMessages) {
  Session(0, 10, "me", {{"a", {.qos = 1, .no_local = true}}});
  Message(0, 11, "a", "mine", 1, false, "me");
  Message(0, 12, "a", "theirs", 1, false, "other");
  const session::RestoredSession* r = Find(Run(), "me");
  ASSERT_EQ(r->queue.size(), 1u);
  EXPECT_EQ(Payload(r->queue[0].message), "theirs");
}

TEST_F(RecoveryTest, UnreleasedQos2IdsOfAPersistentPublisherAreRestored) {
  Session(0, 10, "pub", {});
  Message(0, 11, "a", "x", 2, false, "pub", 7);
  Message(0, 12, "a", "y", 2, false, "pub", 8);
  Release(0, 13, "pub", 7);
  const session::RestoredSession* r = Find(Run(), "pub");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->inbound_qos2, (std::vector<uint16_t>{8}));
}

TEST_F(RecoveryTest, ExpiredMessagesAreNeitherOwedNorRetained) {
  Session(0, 10, "sub", {{"a", {.qos = 1}}});
  Message(0, 11, "a", "gone", 1, /*retain=*/true, "", 0, /*expiry_ns=*/500);
  Message(0, 12, "a", "live", 1, false, "", 0, /*expiry_ns=*/5'000'000);
  RecoveredState s = Run(1, /*now_ns=*/1000);
  EXPECT_TRUE(s.retained.empty());
  const session::RestoredSession* r = Find(s, "sub");
  ASSERT_EQ(r->queue.size(), 1u);
  EXPECT_EQ(Payload(r->queue[0].message), "live");
}

TEST_F(RecoveryTest, SessionsGoToTheirOwnerShardAndEveryShardLearnsTheInterest) {
  Session(0, 10, "ab", {{"x/#", {.qos = 1}}});   // owner 2 % 2 = 0
  Session(1, 10, "abc", {{"y/+", {.qos = 1}}});  // owner 3 % 2 = 1
  RecoveredState s = Run(/*shards=*/2);
  ASSERT_EQ(s.sessions.size(), 2u);
  ASSERT_EQ(s.sessions[0].size(), 1u);
  EXPECT_EQ(s.sessions[0][0].state.client_id, "ab");
  ASSERT_EQ(s.sessions[1].size(), 1u);
  EXPECT_EQ(s.sessions[1][0].state.client_id, "abc");
  std::vector<std::pair<std::string, uint32_t>> interest = s.interest;
  std::sort(interest.begin(), interest.end());
  EXPECT_EQ(interest, (std::vector<std::pair<std::string, uint32_t>>{{"x/#", 0}, {"y/+", 1}}));
}

TEST_F(RecoveryTest, UndecodableRecordsAreSkippedAndCounted) {
  Session(0, 10, "sub", {{"a", {.qos = 1}}});
  ASSERT_TRUE(partitions_[0]->Append(kRecordMessage, "a", std::string("\xff", 1), 11).ok());
  ASSERT_TRUE(partitions_[0]->Append(99, "k", "v", 12).ok());
  Message(0, 13, "a", "ok", 1);
  RecoveredState s = Run();
  EXPECT_EQ(s.undecodable_records, 2u);
  ASSERT_EQ(Find(s, "sub")->queue.size(), 1u);
}

// A log from a buggy older version or a hostile file (found by
// recovery_fuzz): what no client could have sent is counted and skipped, and
// the rest restored. Restored, it reached the router and the subscribers.
TEST_F(RecoveryTest, RecordsNoClientCouldHaveSentAreSkippedAndCounted) {
  Session(0, 10, "sub", {{"a/#", {.qos = 1}}});
  Session(0, 11, "bad", {{"a/#/b", {.qos = 1}}});
  Message(0, 12, "a/+", "wildcard", 1, /*retain=*/true);
  Message(1, 13, std::string_view("a/\0", 3), "nul", 1);
  MessageValueParts parts;
  EncodeMessageValue({.topic = "a/b",
                      .payload = Bytes("aliased"),
                      .properties = Bytes(std::string_view("\x03\x23\x00\x05", 4)),
                      .qos = 1},
                     "", 0, &parts);
  ASSERT_TRUE(partitions_[0]->Append(kRecordMessage, "a/b", parts.parts, 14).ok());
  Message(1, 15, "a/b", "ok", 1, /*retain=*/true);
  Session(1, 16, "\xc3\x28", {{"a/#", {.qos = 1}}});  // a client id that is not UTF-8
  RecoveredState& s = Run();
  EXPECT_EQ(s.undecodable_records, 5u);
  EXPECT_EQ(Find(s, "bad"), nullptr);
  EXPECT_EQ(Find(s, "\xc3\x28"), nullptr);
  const session::RestoredSession* sub = Find(s, "sub");
  ASSERT_NE(sub, nullptr);
  ASSERT_EQ(sub->queue.size(), 1u);
  EXPECT_EQ(Payload(sub->queue[0].message), "ok");
  ASSERT_EQ(s.retained.size(), 1u);
  EXPECT_EQ(s.retained[0]->topic(), "a/b");
  EXPECT_EQ(s.interest.size(), 1u);
}

TEST_F(RecoveryTest, ARetainedCopyRestoresTheRetainedMessageButIsOwedToNobody) {
  Session(0, 10, "sub", {{"r/#", {.qos = 1}}});
  RetainedCopy(0, 11, "r/1", "kept");
  RecoveredState& s = Run();
  ASSERT_EQ(s.retained.size(), 1u);
  EXPECT_EQ(Payload(s.retained[0]), "kept");
  EXPECT_TRUE(Find(s, "sub")->queue.empty());
}

TEST_F(RecoveryTest, Qos2PendingReplacesTheUnreleasedIds) {
  Session(0, 10, "pub", {});
  Message(0, 11, "a", "x", 2, false, "pub", 7);
  Record(0, 12, kRecordQos2Pending, "pub", EncodeQos2PendingValue(std::vector<uint16_t>{9}));
  EXPECT_EQ(Find(Run(), "pub")->inbound_qos2, (std::vector<uint16_t>{9}));
}

TEST_F(RecoveryTest, OutboundQos2FollowsItsRecordsUntilCompleted) {
  Session(0, 10, "sub", {{"a", {.qos = 2}}});
  Record(0, 11, kRecordQos2Out, "sub",
         EncodeQos2OutValue({.packet_id = 5, .partition = 0, .offset = 0}));
  Record(0, 12, kRecordQos2Out, "sub",
         EncodeQos2OutValue({.packet_id = 6, .partition = 0, .offset = 0}));
  Record(0, 13, kRecordQos2Out, "sub", EncodeQos2OutValue({.packet_id = 5, .released = true}));
  Record(0, 14, kRecordQos2OutComplete, "sub", EncodeQos2ReleaseValue(6));
  Record(0, 15, kRecordQos2Out, "nobody", EncodeQos2OutValue({.packet_id = 1, .released = true}));
  RecoveredState& s = Run();
  EXPECT_EQ(s.undecodable_records, 0u);
  const session::RestoredSession* sub = Find(s, "sub");
  ASSERT_NE(sub, nullptr);
  ASSERT_EQ(sub->outbound_qos2.size(), 1u);
  EXPECT_EQ(sub->outbound_qos2[0].packet_id, 5);
  EXPECT_TRUE(sub->outbound_qos2[0].released);
}

TEST_F(RecoveryTest, Qos2OutPendingReplacesAndSessionEndClears) {
  Session(0, 10, "sub", {});
  Record(0, 11, kRecordQos2Out, "sub", EncodeQos2OutValue({.packet_id = 5, .released = true}));
  Record(0, 12, kRecordQos2OutPending, "sub",
         EncodeQos2OutPendingValue(
             std::vector<session::OutboundQos2>{{.packet_id = 8, .partition = 0, .offset = 3}}));
  RecoveredState& s = Run();
  const session::RestoredSession* sub = Find(s, "sub");
  ASSERT_NE(sub, nullptr);
  ASSERT_EQ(sub->outbound_qos2.size(), 1u);
  EXPECT_EQ(sub->outbound_qos2[0].packet_id, 8);
  EXPECT_EQ(sub->outbound_qos2[0].offset, 3u);

  End(0, 13, "sub");
  Session(0, 14, "sub", {});
  EXPECT_TRUE(Find(Run(), "sub")->outbound_qos2.empty());
}

}  // namespace
}  // namespace telemq::persist
