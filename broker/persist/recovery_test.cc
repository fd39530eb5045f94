#include "broker/persist/recovery.h"

#include <memory>
#include <string>
#include <vector>

#include "broker/persist/records.h"
#include "gtest/gtest.h"
#include "storage/mem_env.h"
#include "storage/partition.h"

namespace telemq::persist {
namespace {

using session::SessionState;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string Payload(const MessageRef& m) {
  return {reinterpret_cast<const char*>(m->payload().data()), m->payload().size()};
}

// Partitions in a MemEnv, written record by record with explicit broker times.
class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override { AddPartitions(2); }

  void AddPartitions(int n) {
    for (int i = 0; i < n; ++i) {
      storage::RecoveryReport report;
      auto p = storage::Partition::Open(
          &env_, {.dir = "/data/p" + std::to_string(partitions_.size())}, &report);
      ASSERT_TRUE(p.ok()) << p.status();
      partitions_.push_back(*std::move(p));
    }
  }

  uint64_t Message(uint32_t p, int64_t ts, std::string_view topic, std::string_view payload,
                   uint8_t qos, bool retain = false, std::string_view origin = "",
                   uint16_t packet_id = 0, int64_t expiry_ns = 0) {
    MessageValueParts parts;
    EncodeMessageValue({.topic = topic,
                        .payload = Bytes(payload),
                        .qos = qos,
                        .retain = retain,
                        .expiry_ns = expiry_ns},
                       origin, packet_id, &parts);
    return *partitions_[p]->Append(kRecordMessage, topic, parts.parts, ts);
  }
  void Session(uint32_t p, int64_t ts, std::string_view client,
               std::vector<std::pair<std::string, router::SubscriptionOptions>> subs,
               uint32_t expiry = UINT32_MAX) {
    SessionState s;
    s.client_id = std::string(client);
    s.expiry_s = expiry;
    s.subscriptions = std::move(subs);
    ASSERT_TRUE(partitions_[p]->Append(kRecordSession, client, EncodeSessionValue(s), ts).ok());
  }
  void End(uint32_t p, int64_t ts, std::string_view client) {
    ASSERT_TRUE(partitions_[p]->Append(kRecordSessionEnd, client, "", ts).ok());
  }
  void Consumed(uint32_t p, int64_t ts, std::string_view client, std::vector<uint64_t> c) {
    ASSERT_TRUE(partitions_[p]->Append(kRecordConsumed, client, EncodeConsumedValue(c), ts).ok());
  }
  void Record(uint32_t p, int64_t ts, uint8_t type, std::string_view key, std::string_view value) {
    ASSERT_TRUE(partitions_[p]->Append(type, key, value, ts).ok());
  }
  void RetainedCopy(uint32_t p, int64_t ts, std::string_view topic, std::string_view payload) {
    MessageValueParts parts;
    EncodeMessageValue({.topic = topic, .payload = Bytes(payload), .qos = 1, .retain = true}, "", 0,
                       &parts);
    ASSERT_TRUE(partitions_[p]->Append(kRecordRetainedCopy, topic, parts.parts, ts).ok());
  }
  void Release(uint32_t p, int64_t ts, std::string_view client, uint16_t id) {
    ASSERT_TRUE(
        partitions_[p]->Append(kRecordQos2Release, client, EncodeQos2ReleaseValue(id), ts).ok());
  }

  // The state stays in the fixture, so pointers into it stay valid.
  RecoveredState& Run(uint32_t shards = 1, int64_t now_ns = 1'000'000, size_t max_queued = 0) {
    std::vector<storage::Partition*> views;
    for (auto& p : partitions_) {
      EXPECT_TRUE(p->FlushNow(/*sync=*/true).ok());
      views.push_back(p.get());
    }
    auto state = Recover(views, {.shard_count = shards,
                                 .owner =
                                     [shards](std::string_view id) {
                                       return static_cast<uint32_t>(id.size()) % shards;
                                     },
                                 .now_ns = now_ns,
                                 .max_queued_messages = max_queued});
    EXPECT_TRUE(state.ok()) << state.status();
    last_ = *std::move(state);
    return last_;
  }

  static const session::RestoredSession* Find(const RecoveredState& s, std::string_view id) {
    for (const auto& shard : s.sessions) {
      for (const auto& r : shard) {
        if (r.state.client_id == id) return &r;
      }
    }
    return nullptr;
  }

  storage::MemEnv env_;
  std::vector<std::unique_ptr<storage::Partition>> partitions_;
  RecoveredState last_;
};

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

TEST_F(RecoveryTest, ConsumedOffsetsBeyondALaterCheckpointAreStale) {
  // Partition 0 lost its unsynced tail in a power failure (messages at
  // offsets 1-5, delivered before they were durable), while partition 1 kept
  // a consumed record for them. After the restart, partition 0 wrote its
  // checkpoint at its end (offsets 1-2), then new messages took offsets 3-4
  // again: the stale record must not settle them.
  Session(1, 10, "sub", {{"a", {.qos = 1}}});
  Message(0, 11, "a", "m0", 1);
  Consumed(1, 14, "sub", {6, 0});
  Record(0, 20, kRecordCheckpointBegin, "", "");
  Record(0, 21, kRecordCheckpointEnd, "", "");
  const uint64_t first_new = Message(0, 22, "a", "n0", 1);
  const uint64_t second_new = Message(0, 23, "a", "n1", 1);
  ASSERT_EQ(first_new, 3u);
  ASSERT_LT(second_new, 6u);
  const session::RestoredSession* r = Find(Run(), "sub");
  std::vector<std::string> got;
  for (const auto& o : r->queue) got.push_back(Payload(o.message));
  EXPECT_EQ(got, (std::vector<std::string>{"n0", "n1"}));
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

TEST_F(RecoveryTest, CheckpointMarkersAreNotUndecodable) {
  Record(0, 10, kRecordCheckpointBegin, "", "");
  Record(0, 11, kRecordCheckpointEnd, "", "");
  EXPECT_EQ(Run().undecodable_records, 0u);
}

// Retention deleted the oldest segment of partition 0, where the session was
// created; its checkpoint at the start of the next segment stands for it,
// before every record still in the log (docs/persistence.md, Retention).
TEST_F(RecoveryTest, TheFirstCheckpointOfATrimmedPartitionAppliesBeforeEverything) {
  partitions_.clear();
  storage::RecoveryReport report;
  for (int k = 0; k < 2; ++k) {
    auto p = storage::Partition::Open(
        &env_, {.dir = "/data/t" + std::to_string(k), .segment_bytes = 4096}, &report);
    ASSERT_TRUE(p.ok()) << p.status();
    partitions_.push_back(*std::move(p));
  }
  Session(0, 10, "sub", {{"a", {.qos = 1}}});
  Message(0, 11, "pad", std::string(3000, 'x'), 1);
  ASSERT_TRUE(partitions_[0]->FlushNow(true).ok());
  // Partition 1 published before partition 0's checkpoint: still owed.
  const uint64_t owed = Message(1, 20, "a", "from p1", 1);
  Message(0, 30, "pad", std::string(3000, 'y'), 1);  // rolls to a new segment
  ASSERT_TRUE(partitions_[0]->FlushNow(true).ok());
  const uint64_t begin = partitions_[0]->next_offset();
  Record(0, 40, kRecordCheckpointBegin, "", "");
  Session(0, 40, "sub", {{"a", {.qos = 1}}});
  Consumed(0, 40, "sub", {0, owed});
  RetainedCopy(0, 40, "r", "v");
  Record(0, 40, kRecordCheckpointEnd, "", "");
  ASSERT_TRUE(partitions_[0]->FlushNow(true).ok());
  storage::RetentionPolicy policy;
  policy.max_bytes = 1;  // delete everything allowed
  policy.needed_from = begin;
  partitions_[0]->ApplyRetention(policy, 100);
  ASSERT_GT(partitions_[0]->start_offset(), 0u);
  ASSERT_LE(partitions_[0]->start_offset(), begin);

  RecoveredState& s = Run();
  EXPECT_TRUE(s.read_errors.empty());
  const session::RestoredSession* r = Find(s, "sub");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->queue.size(), 1u);
  EXPECT_EQ(Payload(r->queue[0].message), "from p1");
  ASSERT_EQ(s.retained.size(), 1u);
}

// Recovery reads a trimmed partition's first checkpoint twice (ahead of the
// merge and in it): what is wrong in it counts once, and a message found in it
// (no broker writes one there) is owed once.
TEST_F(RecoveryTest, TheFirstCheckpointOfATrimmedPartitionCountsAndOwesOnce) {
  partitions_.clear();
  storage::RecoveryReport report;
  for (int k = 0; k < 2; ++k) {
    auto p = storage::Partition::Open(
        &env_, {.dir = "/data/v" + std::to_string(k), .segment_bytes = 4096}, &report);
    ASSERT_TRUE(p.ok()) << p.status();
    partitions_.push_back(*std::move(p));
  }
  Message(0, 10, "pad", std::string(3000, 'x'), 1);
  Message(0, 11, "pad", std::string(3000, 'y'), 1);  // rolls to a new segment
  ASSERT_TRUE(partitions_[0]->FlushNow(true).ok());
  const uint64_t begin = partitions_[0]->next_offset();
  Record(0, 40, kRecordCheckpointBegin, "", "");
  Session(0, 40, "sub", {{"a", {.qos = 1}}});
  Record(0, 40, 99, "k", "v");
  Message(0, 40, "a", "inside", 1);
  Record(0, 40, kRecordCheckpointEnd, "", "");
  ASSERT_TRUE(partitions_[0]->FlushNow(true).ok());
  storage::RetentionPolicy policy;
  policy.max_bytes = 1;
  policy.needed_from = begin;
  partitions_[0]->ApplyRetention(policy, 100);
  ASSERT_GT(partitions_[0]->start_offset(), 0u);

  RecoveredState& s = Run();
  EXPECT_TRUE(s.read_errors.empty());
  EXPECT_EQ(s.undecodable_records, 1u);
  const session::RestoredSession* r = Find(s, "sub");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->queue.size(), 1u);
  EXPECT_EQ(Payload(r->queue[0].message), "inside");
}

TEST_F(RecoveryTest, ATrimmedPartitionWithoutACheckpointIsReported) {
  partitions_.clear();
  storage::RecoveryReport report;
  for (int k = 0; k < 2; ++k) {
    auto p = storage::Partition::Open(
        &env_, {.dir = "/data/u" + std::to_string(k), .segment_bytes = 4096}, &report);
    ASSERT_TRUE(p.ok()) << p.status();
    partitions_.push_back(*std::move(p));
  }
  for (int i = 0; i < 4; ++i) {
    Message(0, 10 + i, "pad", std::string(3000, 'x'), 1);
    ASSERT_TRUE(partitions_[0]->FlushNow(true).ok());
  }
  storage::RetentionPolicy policy;
  policy.max_bytes = 1;
  partitions_[0]->ApplyRetention(policy, 100);
  ASSERT_GT(partitions_[0]->start_offset(), 0u);
  RecoveredState& s = Run();
  ASSERT_EQ(s.read_errors.size(), 1u);
  EXPECT_NE(s.read_errors[0].find("no complete checkpoint"), std::string::npos);
}

TEST_F(RecoveryTest, ABacklogBeyondTheQueueLimitStaysInTheLog) {
  Session(1, 10, "sub", {{"a", {.qos = 1}}});
  std::vector<uint64_t> offsets;
  for (int i = 0; i < 5; ++i) offsets.push_back(Message(0, 11 + i, "a", std::to_string(i), 1));
  const uint64_t p1 = Message(1, 20, "a", "p1", 1);
  const session::RestoredSession* r = Find(Run(1, 1'000'000, /*max_queued=*/3), "sub");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->queue.size(), 3u);
  EXPECT_EQ(Payload(r->queue[2].message), "2");
  ASSERT_EQ(r->spill_from.size(), 2u);
  EXPECT_EQ(r->spill_from[0], offsets[3]);
  EXPECT_EQ(r->spill_from[1], p1);
}

TEST_F(RecoveryTest, ConsumedOffsetsMoveTheSpilledStartToo) {
  Session(0, 10, "sub", {{"a", {.qos = 1}}});
  std::vector<uint64_t> offsets;
  for (int i = 0; i < 6; ++i) offsets.push_back(Message(0, 11 + i, "a", std::to_string(i), 1));
  Consumed(0, 20, "sub", {offsets[4]});  // 0-3 settled, 2-3 were spilled
  const session::RestoredSession* r = Find(Run(1, 1'000'000, /*max_queued=*/2), "sub");
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->queue.empty());
  ASSERT_FALSE(r->spill_from.empty());
  EXPECT_EQ(r->spill_from[0], offsets[4]);
}

}  // namespace
}  // namespace telemq::persist
