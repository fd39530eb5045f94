// The engine's side of durability, continued: QoS 2 packet ids in both
// directions, a failed log, checkpoints and the offsets sessions still need.
#include <string>
#include <vector>

#include "broker/session/persistence_fixture.h"
#include "gtest/gtest.h"

namespace telemq::session {
namespace {

using mqtt::Packet;
using mqtt::QoS;
using mqtt::ReasonCode;
using testing::Bytes;
using testing::kV311;
using testing::kV5;
using testing::PersistenceTest;

TEST_F(PersistenceTest, RestoredInboundQos2IdsAreNotRoutedTwice) {
  RestoredSession r;
  r.state = {"pub", kV311, UINT32_MAX, {}};
  r.inbound_qos2 = {42};
  engine_.Restore(std::move(r));
  const ConnId c = Connect("pub", false, kV311, true);
  Publish(c, "a", QoS::kExactlyOnce, 42);  // a resend after the restart
  EXPECT_TRUE(log_.Of("message").empty());
  auto recs = Only<mqtt::Pubrec>(t_.Take(c, kV311));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].packet_id, 42);
}

TEST_F(PersistenceTest, PubrelOfAPersistentPublisherIsLoggedBeforeThePubcomp) {
  const ConnId c = Connect("pub", false);
  Publish(c, "a", QoS::kExactlyOnce, 7);
  const auto messages = log_.Of("message");
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].packet_id, 7);  // its id survives a restart
  t_.Take(c, kV311);
  t_.holds.clear();
  Feed(c, mqtt::Pubrel{.packet_id = 7});
  const auto releases = log_.Of("release");
  ASSERT_EQ(releases.size(), 1u);
  EXPECT_EQ(releases[0].packet_id, 7);
  ASSERT_EQ(t_.holds.size(), 1u);
  EXPECT_EQ(t_.holds[0].offset, releases[0].offset);
}

// Outbound QoS 2, exactly once across a restart: the packet id is logged
// before the PUBLISH goes out, the PUBREC before the PUBREL, then the
// completion.
TEST_F(PersistenceTest, Qos2ToAPersistentSubscriberLogsItsPacketIdBeforeEachStep) {
  const ConnId sub = Connect("sub", false);
  Subscribe(sub, "a", QoS::kExactlyOnce);
  t_.Take(sub, kV311);
  const ConnId pub = Connect("pub", true);
  t_.holds.clear();
  Publish(pub, "a", QoS::kExactlyOnce, 7);
  const auto messages = log_.Of("message");
  ASSERT_EQ(messages.size(), 1u);
  auto pubs = Only<mqtt::Publish>(t_.Take(sub, kV311));
  ASSERT_EQ(pubs.size(), 1u);
  const uint16_t id = pubs[0].packet_id;
  auto outs = log_.Of("out");
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].key, "sub");
  ASSERT_EQ(outs[0].out.size(), 1u);
  EXPECT_EQ(outs[0].out[0].packet_id, id);
  EXPECT_FALSE(outs[0].out[0].released);
  EXPECT_EQ(outs[0].out[0].offset, messages[0].offset);
  auto held = [&](ConnId c, uint64_t offset) {
    return std::any_of(t_.holds.begin(), t_.holds.end(),
                       [&](const auto& h) { return h.conn == c && h.offset == offset; });
  };
  EXPECT_TRUE(held(sub, outs[0].offset));

  t_.holds.clear();
  Feed(sub, mqtt::Pubrec{.packet_id = id});
  outs = log_.Of("out");
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_EQ(outs[1].out[0].packet_id, id);
  EXPECT_TRUE(outs[1].out[0].released);
  EXPECT_TRUE(held(sub, outs[1].offset));
  ASSERT_EQ(Only<mqtt::Pubrel>(t_.Take(sub, kV311)).size(), 1u);

  Feed(sub, mqtt::Pubcomp{.packet_id = id});
  const auto complete = log_.Of("out-complete");
  ASSERT_EQ(complete.size(), 1u);
  EXPECT_EQ(complete[0].packet_id, id);
}

TEST_F(PersistenceTest, Qos2ToACleanSubscriberLogsNoPacketId) {
  const ConnId sub = Connect("sub", true);
  Subscribe(sub, "a", QoS::kExactlyOnce);
  const ConnId pub = Connect("pub", true);
  Publish(pub, "a", QoS::kExactlyOnce, 7);
  auto pubs = Only<mqtt::Publish>(t_.Take(sub, kV311));
  ASSERT_EQ(pubs.size(), 1u);
  Feed(sub, mqtt::Pubrec{.packet_id = pubs[0].packet_id});
  Feed(sub, mqtt::Pubcomp{.packet_id = pubs[0].packet_id});
  EXPECT_TRUE(log_.Of("out").empty());
  EXPECT_TRUE(log_.Of("out-complete").empty());
}

// After a restart: an owed message the client knows by id is resent with
// that id and DUP; a released id, or one whose message is no longer owed,
// gets its PUBREL; new messages take other ids.
TEST_F(PersistenceTest, RestoredOutboundQos2KeepsItsPacketIds) {
  RestoredSession r;
  r.state = {"sub", kV311, UINT32_MAX, {{"a/#", {.qos = 2}}}};
  MessageRef owed = Message::Create(
      {.topic = "a/b", .payload = Bytes("x"), .qos = 2, .log_partition = 0, .log_offset = 5});
  MessageRef fresh = Message::Create(
      {.topic = "a/c", .payload = Bytes("y"), .qos = 2, .log_partition = 0, .log_offset = 6});
  r.queue.push_back({owed, 2, false, {}});
  r.queue.push_back({fresh, 2, false, {}});
  r.consumed = {7};
  r.outbound_qos2 = {{.packet_id = 40, .partition = 0, .offset = 5},
                     {.packet_id = 41, .released = true},
                     {.packet_id = 42, .partition = 0, .offset = 3}};  // consumed before the crash
  engine_.Restore(std::move(r));
  const ConnId c = SendConnect("sub", false);
  std::vector<Packet> out = t_.Take(c, kV311);
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(std::get<mqtt::Connack>(out[0]).session_present);
  std::vector<uint16_t> pubrels;
  std::vector<std::pair<uint16_t, bool>> publishes;  // id, dup
  for (const Packet& packet : out) {
    if (const auto* rel = std::get_if<mqtt::Pubrel>(&packet)) pubrels.push_back(rel->packet_id);
    if (const auto* pub = std::get_if<mqtt::Publish>(&packet)) {
      publishes.emplace_back(pub->packet_id, pub->dup);
    }
  }
  std::sort(pubrels.begin(), pubrels.end());
  EXPECT_EQ(pubrels, (std::vector<uint16_t>{41, 42}));
  ASSERT_EQ(publishes.size(), 2u);
  EXPECT_EQ(publishes[0], std::make_pair(uint16_t{40}, true));
  EXPECT_NE(publishes[1].first, 40);
  EXPECT_NE(publishes[1].first, 41);
  EXPECT_NE(publishes[1].first, 42);
  EXPECT_FALSE(publishes[1].second);
  // Completing a restored id is logged like any other.
  Feed(c, mqtt::Pubcomp{.packet_id = 41});
  ASSERT_EQ(log_.Of("out-complete").size(), 1u);
  EXPECT_EQ(log_.Of("out-complete")[0].packet_id, 41);
}

TEST_F(PersistenceTest, ACheckpointRewritesOutboundQos2State) {
  const ConnId sub = Connect("sub", false);
  Subscribe(sub, "a", QoS::kExactlyOnce);
  const ConnId pub = Connect("pub", true);
  Publish(pub, "a", QoS::kExactlyOnce, 1);
  Publish(pub, "a", QoS::kExactlyOnce, 2);
  auto pubs = Only<mqtt::Publish>(t_.Take(sub, kV311));
  ASSERT_EQ(pubs.size(), 2u);
  Feed(sub, mqtt::Pubrec{.packet_id = pubs[0].packet_id});
  log_.entries.clear();
  engine_.WriteCheckpoint();
  const auto pending = log_.Of("out-pending");
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].key, "sub");
  ASSERT_EQ(pending[0].out.size(), 2u);
  EXPECT_EQ(pending[0].out[0].packet_id, pubs[0].packet_id);
  EXPECT_TRUE(pending[0].out[0].released);
  EXPECT_EQ(pending[0].out[1].packet_id, pubs[1].packet_id);
  EXPECT_FALSE(pending[0].out[1].released);
}

TEST_F(PersistenceTest, Qos2IdsOfCleanPublishersAreNotLogged) {
  const ConnId c = Connect("pub", true);
  Publish(c, "a", QoS::kExactlyOnce, 7);
  ASSERT_EQ(log_.Of("message").size(), 1u);
  EXPECT_EQ(log_.Of("message")[0].packet_id, 0);
  Feed(c, mqtt::Pubrel{.packet_id = 7});
  EXPECT_TRUE(log_.Of("release").empty());
}

TEST_F(PersistenceTest, AFailedLogRefusesMqtt5Qos1WithUnspecifiedError) {
  const ConnId sub = Connect("sub", true);
  Subscribe(sub, "a", QoS::kAtLeastOnce);
  const ConnId c = Connect("pub", true, kV5);
  log_.failed = true;
  Publish(c, "a", QoS::kAtLeastOnce, 3, kV5);
  auto acks = Only<mqtt::Puback>(t_.Take(c, kV5));
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, ReasonCode::kUnspecifiedError);
  EXPECT_FALSE(t_.closed(c));
  EXPECT_TRUE(t_.Take(sub, kV311).empty());  // not routed
  EXPECT_EQ(engine_.stats().log_refused, 1u);
}

TEST_F(PersistenceTest, AFailedLogClosesAnMqtt311Qos1Publisher) {
  const ConnId c = Connect("pub", true);
  log_.failed = true;
  Publish(c, "a", QoS::kAtLeastOnce, 3);
  EXPECT_TRUE(Only<mqtt::Puback>(t_.Take(c, kV311)).empty());
  EXPECT_TRUE(t_.closed(c));
}

TEST_F(PersistenceTest, AFailedLogRefusesAPersistentSession) {
  log_.failed = true;
  const ConnId c = SendConnect("dev", false);
  auto out = t_.Take(c, kV311);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Connack>(out[0]).reason_code, ReasonCode::kServerUnavailable);
  EXPECT_TRUE(t_.closed(c));
  EXPECT_EQ(engine_.stats().sessions, 0u);
}

TEST_F(PersistenceTest, AFailedLogClosesAPersistentSubscriber) {
  const ConnId c = Connect("dev", false);
  log_.failed = true;
  mqtt::Subscribe s;
  s.packet_id = 3;
  s.subscriptions.push_back({"a", {.max_qos = QoS::kAtLeastOnce}});
  Feed(c, s);
  EXPECT_TRUE(Only<mqtt::Suback>(t_.Take(c, kV311)).empty());
  EXPECT_TRUE(t_.closed(c));
}

TEST_F(PersistenceTest, ACheckpointRewritesEveryLoggedSessionAndOwnRetainedMessage) {
  const ConnId sub = Connect("sub", false);
  Subscribe(sub, "a", QoS::kAtLeastOnce);
  Connect("clean", true);
  const ConnId pub = Connect("pub", false);
  Publish(pub, "q2", QoS::kExactlyOnce, 5);  // unreleased
  mqtt::Publish r;
  r.topic = "r/1";
  r.payload = Bytes("v");
  r.qos = QoS::kAtLeastOnce;
  r.packet_id = 6;
  r.retain = true;
  Feed(pub, r);
  // A retained message that came from another partition is that shard's to re-write.
  engine_.ApplyRetained(Message::Create({.topic = "r/other",
                                         .payload = Bytes("x"),
                                         .retain = true,
                                         .origin_shard = 1,
                                         .log_partition = 1,
                                         .log_offset = 3}));
  log_.entries.clear();
  engine_.WriteCheckpoint();
  std::vector<std::string> kinds;
  for (const auto& e : log_.entries) kinds.push_back(e.kind + ":" + e.key);
  ASSERT_GE(kinds.size(), 2u);
  EXPECT_EQ(kinds.front(), "begin:");
  EXPECT_EQ(kinds.back(), "end-checkpoint:");
  auto has = [&](const std::string& k) {
    return std::find(kinds.begin(), kinds.end(), k) != kinds.end();
  };
  EXPECT_TRUE(has("session:sub"));
  EXPECT_TRUE(has("consumed:sub"));
  EXPECT_TRUE(has("session:pub"));
  EXPECT_TRUE(has("pending:pub"));
  EXPECT_TRUE(has("retained:r/1"));
  EXPECT_FALSE(has("retained:r/other"));
  EXPECT_FALSE(has("session:clean"));
  EXPECT_EQ(log_.Of("pending")[0].ids, std::vector<uint16_t>{5});
  EXPECT_EQ(log_.Of("session")[0].state.subscriptions.size() +
                log_.Of("session")[1].state.subscriptions.size(),
            1u);
}

TEST_F(PersistenceTest, NeededOffsetsAreTheOldestPendingMessagePerPartition) {
  const ConnId sub = Connect("sub", false);
  Subscribe(sub, "a", QoS::kAtLeastOnce);
  Feed(sub, mqtt::Disconnect{});
  std::vector<uint64_t> needed;
  engine_.NeededOffsets(&needed);
  EXPECT_TRUE(needed.empty());  // nothing received from any partition yet
  const ConnId pub = Connect("pub", true);
  Publish(pub, "a", QoS::kAtLeastOnce, 1);
  Publish(pub, "a", QoS::kAtLeastOnce, 2);
  engine_.NeededOffsets(&needed);
  EXPECT_EQ(needed, std::vector<uint64_t>{log_.Of("message")[0].offset});
}

// Replay on request (mqtt_replay.cc).

}  // namespace
}  // namespace telemq::session
