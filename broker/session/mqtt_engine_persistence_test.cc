// The engine's side of durability: what it logs, and which acknowledgements
// it holds behind the log (persistence.h), against an in-memory Persistence:
// messages, sessions, subscriptions, consumed offsets, restored sessions.
#include <string>
#include <vector>

#include "broker/session/persistence_fixture.h"
#include "gtest/gtest.h"

namespace telemq::session {
namespace {

using mqtt::Packet;
using mqtt::QoS;
using testing::Bytes;
using testing::kV311;
using testing::kV5;
using testing::PersistenceTest;

TEST_F(PersistenceTest, Qos1PublishIsLoggedAndItsPubackHeldBehindTheRecord) {
  const ConnId c = Connect("pub", /*clean=*/true);
  Publish(c, "a/b", QoS::kAtLeastOnce, 9);
  const auto messages = log_.Of("message");
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].key, "a/b");
  ASSERT_EQ(t_.holds.size(), 1u);
  EXPECT_EQ(t_.holds[0].conn, c);
  EXPECT_EQ(t_.holds[0].offset, messages[0].offset);
  // The hold is placed before the PUBACK's bytes.
  EXPECT_EQ(t_.holds[0].at, 0u);
  auto acks = Only<mqtt::Puback>(t_.Take(c, kV311));
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].packet_id, 9);
}

TEST_F(PersistenceTest, Qos0PublishIsNeitherLoggedNorHeld) {
  const ConnId c = Connect("pub", true);
  Publish(c, "a/b", QoS::kAtMostOnce, 0);
  EXPECT_TRUE(log_.Of("message").empty());
  EXPECT_TRUE(t_.holds.empty());
}

TEST_F(PersistenceTest, RetainedQos0IsLoggedButNotHeld) {
  const ConnId c = Connect("pub", true);
  mqtt::Publish p;
  p.topic = "r";
  p.payload = Bytes("v");
  p.retain = true;
  Feed(c, p);
  EXPECT_EQ(log_.Of("message").size(), 1u);
  EXPECT_TRUE(t_.holds.empty());
}

TEST_F(PersistenceTest, PersistentSessionIsLoggedBeforeItsConnack) {
  const ConnId c = Connect("dev", /*clean=*/false);
  const auto sessions = log_.Of("session");
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].key, "dev");
  EXPECT_EQ(sessions[0].state.expiry_s, UINT32_MAX);
  ASSERT_EQ(t_.holds.size(), 1u);
  EXPECT_EQ(t_.holds[0].conn, c);
  EXPECT_EQ(t_.holds[0].at, 0u);  // before the CONNACK
}

TEST_F(PersistenceTest, CleanSessionsAreNotLogged) {
  Connect("dev", /*clean=*/true);
  EXPECT_TRUE(log_.entries.empty());
  EXPECT_TRUE(t_.holds.empty());
}

TEST_F(PersistenceTest, ResumingAnUnchangedSessionLogsNothingNew) {
  const ConnId c = Connect("dev", false);
  Feed(c, mqtt::Disconnect{});
  Connect("dev", false, kV311, /*expect_present=*/true);
  EXPECT_EQ(log_.Of("session").size(), 1u);
}

TEST_F(PersistenceTest, CleanStartEndsALoggedSession) {
  const ConnId c = Connect("dev", false);
  Feed(c, mqtt::Disconnect{});
  Connect("dev", true);
  const auto ends = log_.Of("end");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].key, "dev");
}

TEST_F(PersistenceTest, Mqtt5ExpiryZeroAtDisconnectEndsTheLoggedSession) {
  const ConnId c = Connect("dev", false, kV5);
  mqtt::Disconnect d;
  d.properties.SetInt(mqtt::PropertyId::kSessionExpiryInterval, 0);
  Feed(c, d, kV5);
  EXPECT_EQ(log_.Of("end").size(), 1u);
}

TEST_F(PersistenceTest, SubscriptionsOfAPersistentSessionAreLoggedBeforeTheSuback) {
  const ConnId c = Connect("dev", false);
  t_.holds.clear();
  mqtt::Subscribe s;
  s.packet_id = 3;
  s.subscriptions.push_back({"a/+", {.max_qos = QoS::kAtLeastOnce}});
  Feed(c, s);
  const auto sessions = log_.Of("session");
  ASSERT_EQ(sessions.size(), 2u);
  ASSERT_EQ(sessions[1].state.subscriptions.size(), 1u);
  EXPECT_EQ(sessions[1].state.subscriptions[0].first, "a/+");
  EXPECT_EQ(sessions[1].state.subscriptions[0].second.qos, 1);
  ASSERT_EQ(t_.holds.size(), 1u);
  EXPECT_EQ(t_.holds[0].offset, sessions[1].offset);
  EXPECT_EQ(t_.holds[0].at, 0u);  // before the SUBACK
}

TEST_F(PersistenceTest, UnsubscribeLogsWhatRemains) {
  const ConnId c = Connect("dev", false);
  Subscribe(c, "a", QoS::kAtLeastOnce);
  Subscribe(c, "b", QoS::kAtLeastOnce);
  mqtt::Unsubscribe u;
  u.packet_id = 4;
  u.filters.push_back("a");
  Feed(c, u);
  const auto sessions = log_.Of("session");
  ASSERT_EQ(sessions.size(), 4u);
  ASSERT_EQ(sessions[3].state.subscriptions.size(), 1u);
  EXPECT_EQ(sessions[3].state.subscriptions[0].first, "b");
}

TEST_F(PersistenceTest, ConsumedOffsetsFollowTheSubscribersAcks) {
  const ConnId sub = Connect("sub", false);
  Subscribe(sub, "a", QoS::kAtLeastOnce);
  const ConnId pub = Connect("pub", true);
  for (uint16_t id = 1; id <= 3; ++id) Publish(pub, "a", QoS::kAtLeastOnce, id);
  const auto messages = log_.Of("message");
  ASSERT_EQ(messages.size(), 3u);
  engine_.FlushConsumed();
  auto consumed = log_.Of("consumed");
  ASSERT_EQ(consumed.size(), 1u);
  EXPECT_EQ(consumed[0].key, "sub");
  // All three are in flight: the oldest bounds what is consumed.
  EXPECT_EQ(consumed[0].consumed, std::vector<uint64_t>{messages[0].offset});

  auto delivered = Only<mqtt::Publish>(t_.Take(sub, kV311));
  ASSERT_EQ(delivered.size(), 3u);
  Feed(sub, mqtt::Puback{.packet_id = delivered[1].packet_id});  // out of order
  engine_.FlushConsumed();
  consumed = log_.Of("consumed");
  ASSERT_EQ(consumed.size(), 2u);
  EXPECT_EQ(consumed[1].consumed, std::vector<uint64_t>{messages[0].offset});
  Feed(sub, mqtt::Puback{.packet_id = delivered[0].packet_id});
  Feed(sub, mqtt::Puback{.packet_id = delivered[2].packet_id});
  engine_.FlushConsumed();
  consumed = log_.Of("consumed");
  ASSERT_EQ(consumed.size(), 3u);
  EXPECT_EQ(consumed[2].consumed, std::vector<uint64_t>{messages[2].offset + 1});
  engine_.FlushConsumed();
  EXPECT_EQ(log_.Of("consumed").size(), 3u);  // nothing changed: nothing logged
}

TEST_F(PersistenceTest, AnOfflineQueueIsPendingConsumption) {
  const ConnId sub = Connect("sub", false);
  Subscribe(sub, "a", QoS::kAtLeastOnce);
  Feed(sub, mqtt::Disconnect{});
  const ConnId pub = Connect("pub", true);
  Publish(pub, "a", QoS::kAtLeastOnce, 1);
  Publish(pub, "a", QoS::kAtLeastOnce, 2);
  engine_.FlushConsumed();
  const auto consumed = log_.Of("consumed");
  ASSERT_EQ(consumed.size(), 1u);
  EXPECT_EQ(consumed[0].consumed, std::vector<uint64_t>{log_.Of("message")[0].offset});
}

TEST_F(PersistenceTest, CleanSubscribersAreNotTracked) {
  const ConnId sub = Connect("sub", true);
  Subscribe(sub, "a", QoS::kAtLeastOnce);
  const ConnId pub = Connect("pub", true);
  Publish(pub, "a", QoS::kAtLeastOnce, 1);
  engine_.FlushConsumed();
  EXPECT_TRUE(log_.Of("consumed").empty());
}

TEST_F(PersistenceTest, ARestoredSessionGetsItsQueueWhenItReconnects) {
  RestoredSession r;
  r.state = {"sub", kV311, UINT32_MAX, {{"a/#", {.qos = 1}}}};
  const std::string payload = "owed";
  MessageRef m = Message::Create(
      {.topic = "a/b", .payload = Bytes(payload), .qos = 1, .log_partition = 0, .log_offset = 5});
  r.queue.push_back({m, 1, false, {}});
  r.consumed = {6};
  engine_.Restore(std::move(r));
  EXPECT_EQ(engine_.stats().sessions, 1u);
  engine_.FlushConsumed();
  EXPECT_TRUE(log_.entries.empty());  // restoring writes nothing

  const ConnId c = Connect("sub", false, kV311, /*expect_present=*/true);
  (void)c;
  // The CONNACK was taken by Connect; the queue followed it.
  EXPECT_TRUE(log_.Of("session").empty());  // unchanged state: not logged again
}

TEST_F(PersistenceTest, RestoredQueueIsDeliveredAfterTheConnack) {
  RestoredSession r;
  r.state = {"sub", kV311, UINT32_MAX, {{"a/#", {.qos = 1}}}};
  MessageRef m = Message::Create(
      {.topic = "a/b", .payload = Bytes("owed"), .qos = 1, .log_partition = 0, .log_offset = 5});
  r.queue.push_back({m, 1, false, {}});
  r.consumed = {6};
  engine_.Restore(std::move(r));
  const ConnId c = SendConnect("sub", false);
  std::vector<Packet> out = t_.Take(c, kV311);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(std::get<mqtt::Connack>(out[0]).session_present);
  const auto& pub = std::get<mqtt::Publish>(out[1]);
  EXPECT_EQ(pub.topic, "a/b");
  EXPECT_EQ(pub.qos, QoS::kAtLeastOnce);
  // Acknowledging it moves consumption past the partition's end.
  Feed(c, mqtt::Puback{.packet_id = pub.packet_id});
  engine_.FlushConsumed();
  const auto consumed = log_.Of("consumed");
  ASSERT_EQ(consumed.size(), 1u);
  EXPECT_EQ(consumed[0].consumed, std::vector<uint64_t>{6});
}

TEST_F(PersistenceTest, ExpiryIntervalLeftIsCappedToWhatThePropertyHolds) {
  // A real-time clock set back, or a damaged record: more time left than a
  // Message Expiry Interval (seconds, 32 bits) can say.
  RestoredSession r;
  r.state = {"sub", kV5, UINT32_MAX, {{"a/#", {.qos = 1}}}};
  MessageRef m = Message::Create({.topic = "a/b",
                                  .payload = Bytes("owed"),
                                  .qos = 1,
                                  .expiry_ns = INT64_MAX,
                                  .log_partition = 0,
                                  .log_offset = 5});
  r.queue.push_back({m, 1, false, {}});
  r.consumed = {6};
  engine_.Restore(std::move(r));
  const ConnId c = SendConnect("sub", false, kV5);
  std::vector<Packet> out = t_.Take(c, kV5);
  ASSERT_EQ(out.size(), 2u);
  const auto& pub = std::get<mqtt::Publish>(out[1]);
  EXPECT_EQ(pub.properties.GetInt(mqtt::PropertyId::kMessageExpiryInterval), UINT32_MAX);
}

TEST_F(PersistenceTest, RestoredSubscriptionsReceiveNewMessages) {
  RestoredSession r;
  r.state = {"sub", kV311, UINT32_MAX, {{"a/#", {.qos = 1}}}};
  engine_.Restore(std::move(r));
  const ConnId pub = Connect("pub", true);
  Publish(pub, "a/x", QoS::kAtLeastOnce, 1);
  const ConnId sub = SendConnect("sub", false);
  EXPECT_EQ(Only<mqtt::Publish>(t_.Take(sub, kV311)).size(), 1u);
}

}  // namespace
}  // namespace telemq::session
