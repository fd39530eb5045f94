#include "broker/session/mqtt_engine.h"

#include <string>
#include <vector>

#include "broker/session/fake_transport.h"
#include "gtest/gtest.h"

namespace telemq::session {
namespace {

using mqtt::Packet;
using mqtt::ProtocolVersion;
using mqtt::QoS;
using mqtt::ReasonCode;
using testing::FakeTransport;
using testing::Wire;

constexpr auto kV311 = ProtocolVersion::kV311;
constexpr auto kV5 = ProtocolVersion::kV5;
constexpr int64_t kSecond = 1'000'000'000;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : engine_(Options(), &t_) {
    t_.set_engine(&engine_);
    Tick(0);
  }
  static EngineOptions Options() {
    EngineOptions o;
    o.max_inflight = 4;
    o.max_queued_messages = 8;
    return o;
  }
  void Tick(int64_t mono) {
    now_ = mono;
    engine_.SetClock(now_, 1'700'000'000 * kSecond + now_);
  }

  ConnId Open() {
    const ConnId c = next_conn_++;
    engine_.OnConnectionOpened(c);
    return c;
  }
  // Feeds a client packet; returns the bytes the engine consumed.
  size_t Feed(ConnId c, const Packet& p, ProtocolVersion v) {
    const std::vector<uint8_t> w = Wire(p, v);
    return engine_.OnBytes(c, w);
  }
  mqtt::Connect ConnectPacket(std::string_view id, ProtocolVersion v, bool clean) {
    mqtt::Connect p;
    p.version = v;
    p.client_id = id;
    p.clean_start = clean;
    return p;
  }
  // Connects and checks the CONNACK. Returns the connection.
  ConnId Connect(std::string_view id, ProtocolVersion v = kV311, bool clean = true,
                 bool expect_present = false) {
    const ConnId c = Open();
    Feed(c, ConnectPacket(id, v, clean), v);
    std::vector<Packet> out = t_.Take(c, v);
    EXPECT_GE(out.size(), 1u);
    if (out.empty()) return c;
    const auto& ack = std::get<mqtt::Connack>(out[0]);
    EXPECT_EQ(ack.reason_code, ReasonCode::kSuccess);
    EXPECT_EQ(ack.session_present, expect_present);
    return c;
  }
  void Subscribe(ConnId c, std::string_view filter, QoS qos, ProtocolVersion v = kV311) {
    mqtt::Subscribe s;
    s.packet_id = 1;
    s.subscriptions.push_back({filter, {.max_qos = qos}});
    Feed(c, s, v);
    std::vector<Packet> out = t_.Take(c, v);
    ASSERT_GE(out.size(), 1u);
    EXPECT_EQ(std::get<mqtt::Suback>(out[0]).reason_codes[0], static_cast<ReasonCode>(qos));
  }
  void Publish(ConnId c, std::string_view topic, std::string_view payload, QoS qos, uint16_t id = 0,
               bool retain = false, ProtocolVersion v = kV311) {
    mqtt::Publish p;
    p.topic = topic;
    p.payload = Bytes(payload);
    p.qos = qos;
    p.packet_id = id;
    p.retain = retain;
    Feed(c, p, v);
  }
  template <typename P>
  std::vector<P> Only(const std::vector<Packet>& packets) {
    std::vector<P> out;
    for (const Packet& p : packets) {
      if (const P* x = std::get_if<P>(&p)) out.push_back(*x);
    }
    return out;
  }

  FakeTransport t_;
  MqttEngine engine_;
  ConnId next_conn_ = 0;
  int64_t now_ = 0;
};

TEST_F(EngineTest, ConnectIsAcceptedWithConnack) {
  Connect("c1");
  EXPECT_EQ(engine_.stats().sessions, 1u);
}

TEST_F(EngineTest, ZeroLengthClientIdWithoutCleanSessionIsRejectedIn311) {
  const ConnId c = Open();
  Feed(c, ConnectPacket("", kV311, /*clean=*/false), kV311);
  auto out = t_.Take(c, kV311);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Connack>(out[0]).reason_code, ReasonCode::kClientIdentifierNotValid);
  EXPECT_TRUE(t_.closed(c));
}

TEST_F(EngineTest, ZeroLengthClientIdGetsAnAssignedIdentifierIn5) {
  const ConnId c = Open();
  Feed(c, ConnectPacket("", kV5, /*clean=*/true), kV5);
  auto out = t_.Take(c, kV5);
  ASSERT_EQ(out.size(), 1u);
  const auto& ack = std::get<mqtt::Connack>(out[0]);
  EXPECT_EQ(ack.reason_code, ReasonCode::kSuccess);
  EXPECT_FALSE(ack.properties.GetString(mqtt::PropertyId::kAssignedClientIdentifier).empty());
}

TEST_F(EngineTest, UnsupportedProtocolLevelGetsConnackReturnCode1) {
  const ConnId c = Open();
  // MQTT 3.1: protocol name "MQIsdp", level 3.
  const std::vector<uint8_t> connect = {0x10, 0x11, 0x00, 0x06, 'M',  'Q',  'I', 's', 'd', 'p',
                                        0x03, 0x02, 0x00, 0x3c, 0x00, 0x03, 'a', 'b', 'c'};
  engine_.OnBytes(c, connect);
  const std::vector<uint8_t> expected = {0x20, 0x02, 0x00, 0x01};
  EXPECT_EQ(t_.PendingBytes(c), expected.size());
  auto out = t_.Take(c, kV311);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Connack>(out[0]).reason_code, ReasonCode::kUnsupportedProtocolVersion);
  EXPECT_TRUE(t_.closed(c));
}

TEST_F(EngineTest, SecondConnectClosesTheConnection) {
  const ConnId c = Connect("c1");
  Feed(c, ConnectPacket("c1", kV311, true), kV311);
  EXPECT_TRUE(t_.closed(c));
}

TEST_F(EngineTest, SecondConnectClosesA5ConnectionWithoutDisconnect) {
  const ConnId c = Connect("c1", kV5);
  Feed(c, ConnectPacket("c1", kV5, true), kV5);
  EXPECT_TRUE(t_.closed(c));
  EXPECT_EQ(t_.PendingBytes(c), 0u) << "a DISCONNECT is only recommended (4.13.1)";
  EXPECT_EQ(engine_.stats().protocol_errors, 1u);
  EXPECT_EQ(t_.closed_by(c), Closer::kBroker);
}

// The shard lingers only after the broker's own last word: a client that sent
// DISCONNECT is closed at once, so its slot is free for the next client.
TEST_F(EngineTest, DisconnectIsACloseByTheClient) {
  const ConnId c = Connect("c1", kV5);
  Feed(c, mqtt::Disconnect{}, kV5);
  EXPECT_TRUE(t_.closed(c));
  EXPECT_EQ(t_.closed_by(c), Closer::kClient);
}

TEST_F(EngineTest, ClientIdOwnedByAnotherShardIsHandedOffWithItsBytes) {
  t_.foreign_ids.insert("elsewhere");
  const ConnId c = Open();
  const std::vector<uint8_t> w = Wire(ConnectPacket("elsewhere", kV311, true), kV311);
  engine_.OnBytes(c, w);
  ASSERT_EQ(t_.handoffs().size(), 1u);
  EXPECT_EQ(t_.handoffs()[0].owner, 1u);
  EXPECT_EQ(t_.handoffs()[0].bytes, w);
  EXPECT_EQ(t_.PendingBytes(c), 0u) << "no CONNACK from the wrong shard";
}

TEST_F(EngineTest, Qos1PublishIsAcknowledgedAndDelivered) {
  const ConnId sub = Connect("sub");
  Subscribe(sub, "a/+", QoS::kAtLeastOnce);
  const ConnId pub = Connect("pub");
  Publish(pub, "a/b", "hello", QoS::kAtLeastOnce, 7);
  auto acks = Only<mqtt::Puback>(t_.Take(pub, kV311));
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].packet_id, 7);
  auto got = Only<mqtt::Publish>(t_.Take(sub, kV311));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].topic, "a/b");
  EXPECT_EQ(got[0].qos, QoS::kAtLeastOnce);
  EXPECT_NE(got[0].packet_id, 0);
}

TEST_F(EngineTest, DeliveryQosIsTheMinimumOfPublishAndSubscription) {
  const ConnId sub = Connect("sub");
  Subscribe(sub, "t", QoS::kAtLeastOnce);
  const ConnId pub = Connect("pub");
  Publish(pub, "t", "x", QoS::kExactlyOnce, 1);
  auto got = Only<mqtt::Publish>(t_.Take(sub, kV311));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, QoS::kAtLeastOnce);
}

TEST_F(EngineTest, Qos2ResentBeforePubrelIsRoutedOnce) {
  const ConnId sub = Connect("sub");
  Subscribe(sub, "t", QoS::kExactlyOnce);
  const ConnId pub = Connect("pub");
  Publish(pub, "t", "once", QoS::kExactlyOnce, 9);
  mqtt::Publish again;
  again.topic = "t";
  again.payload = Bytes("once");
  again.qos = QoS::kExactlyOnce;
  again.packet_id = 9;
  again.dup = true;
  Feed(pub, again, kV311);
  EXPECT_EQ(Only<mqtt::Pubrec>(t_.Take(pub, kV311)).size(), 2u);
  EXPECT_EQ(Only<mqtt::Publish>(t_.Take(sub, kV311)).size(), 1u);
  Feed(pub, mqtt::Pubrel{.packet_id = 9}, kV311);
  auto comp = Only<mqtt::Pubcomp>(t_.Take(pub, kV311));
  ASSERT_EQ(comp.size(), 1u);
  EXPECT_EQ(comp[0].packet_id, 9);
}

TEST_F(EngineTest, SubscriberQos2FlowReleasesTheInflightSlot) {
  const ConnId sub = Connect("sub");
  Subscribe(sub, "t", QoS::kExactlyOnce);
  const ConnId pub = Connect("pub");
  Publish(pub, "t", "x", QoS::kExactlyOnce, 1);
  auto got = Only<mqtt::Publish>(t_.Take(sub, kV311));
  ASSERT_EQ(got.size(), 1u);
  Feed(sub, mqtt::Pubrec{.packet_id = got[0].packet_id}, kV311);
  auto rel = Only<mqtt::Pubrel>(t_.Take(sub, kV311));
  ASSERT_EQ(rel.size(), 1u);
  EXPECT_EQ(rel[0].packet_id, got[0].packet_id);
  Feed(sub, mqtt::Pubcomp{.packet_id = got[0].packet_id}, kV311);
  EXPECT_TRUE(t_.Take(sub, kV311).empty());
}

TEST_F(EngineTest, InflightWindowHoldsBackTheRestUntilAcked) {
  const ConnId sub = Connect("sub");
  Subscribe(sub, "t", QoS::kAtLeastOnce);
  const ConnId pub = Connect("pub");
  for (uint16_t i = 1; i <= 6; ++i) Publish(pub, "t", "m", QoS::kAtLeastOnce, i);
  auto first = Only<mqtt::Publish>(t_.Take(sub, kV311));
  ASSERT_EQ(first.size(), 4u) << "max_inflight is 4";
  Feed(sub, mqtt::Puback{.packet_id = first[0].packet_id}, kV311);
  EXPECT_EQ(Only<mqtt::Publish>(t_.Take(sub, kV311)).size(), 1u);
}

TEST_F(EngineTest, FullSessionQueueDropsAndCounts) {
  const ConnId sub = Connect("sub");
  Subscribe(sub, "t", QoS::kAtLeastOnce);
  const ConnId pub = Connect("pub");
  // 4 in flight + 8 queued fit; the rest is dropped.
  for (uint16_t i = 1; i <= 20; ++i) Publish(pub, "t", "m", QoS::kAtLeastOnce, i);
  EXPECT_EQ(engine_.stats().queue_dropped, 8u);
}

TEST_F(EngineTest, OverlappingSubscriptionsDeliverOnceAtHighestQos) {
  const ConnId sub = Connect("sub");
  Subscribe(sub, "a/#", QoS::kAtMostOnce);
  Subscribe(sub, "a/b", QoS::kExactlyOnce);
  const ConnId pub = Connect("pub");
  Publish(pub, "a/b", "x", QoS::kExactlyOnce, 3);
  auto got = Only<mqtt::Publish>(t_.Take(sub, kV311));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, QoS::kExactlyOnce);
}

TEST_F(EngineTest, PersistentSessionQueuesWhileOfflineAndResendsInflightWithDup) {
  ConnId sub = Connect("sub", kV311, /*clean=*/false);
  Subscribe(sub, "t", QoS::kAtLeastOnce);
  const ConnId pub = Connect("pub");
  Publish(pub, "t", "before", QoS::kAtLeastOnce, 1);
  auto unacked = Only<mqtt::Publish>(t_.Take(sub, kV311));
  ASSERT_EQ(unacked.size(), 1u);
  engine_.OnConnectionClosed(sub);
  Publish(pub, "t", "offline", QoS::kAtLeastOnce, 2);
  Publish(pub, "t", "qos0 offline is not queued", QoS::kAtMostOnce);

  sub = Open();
  Feed(sub, ConnectPacket("sub", kV311, /*clean=*/false), kV311);
  auto out = t_.Take(sub, kV311);
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(std::get<mqtt::Connack>(out[0]).session_present);
  auto pubs = Only<mqtt::Publish>(out);
  ASSERT_EQ(pubs.size(), 2u);
  EXPECT_TRUE(pubs[0].dup);
  EXPECT_EQ(pubs[0].packet_id, unacked[0].packet_id);
  EXPECT_EQ(std::string(pubs[1].payload.begin(), pubs[1].payload.end()), "offline");
  EXPECT_FALSE(pubs[1].dup);
}

TEST_F(EngineTest, CleanSessionDiscardsPreviousState) {
  ConnId sub = Connect("sub", kV311, /*clean=*/false);
  Subscribe(sub, "t", QoS::kAtLeastOnce);
  engine_.OnConnectionClosed(sub);
  sub = Connect("sub", kV311, /*clean=*/true, /*expect_present=*/false);
  const ConnId pub = Connect("pub");
  Publish(pub, "t", "x", QoS::kAtLeastOnce, 1);
  EXPECT_TRUE(Only<mqtt::Publish>(t_.Take(sub, kV311)).empty());
}

TEST_F(EngineTest, TakeoverClosesTheOldConnectionAndSends5DisconnectReason) {
  const ConnId first = Connect("same", kV5);
  const ConnId second = Connect("same", kV5);
  EXPECT_TRUE(t_.closed(first));
  EXPECT_FALSE(t_.closed(second));
  auto d = Only<mqtt::Disconnect>(t_.Take(first, kV5));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].reason_code, ReasonCode::kSessionTakenOver);
}

class WillTest : public EngineTest {
 protected:
  ConnId ConnectWithWill(std::string_view id, uint16_t keep_alive = 0) {
    const ConnId c = Open();
    mqtt::Connect p = ConnectPacket(id, kV311, true);
    p.keep_alive = keep_alive;
    mqtt::Will w;
    w.topic = "wills/x";
    w.payload = Bytes("gone");
    p.will = w;
    Feed(c, p, kV311);
    t_.Take(c, kV311);
    return c;
  }
};

TEST_F(WillTest, WillIsPublishedOnAbnormalClose) {
  const ConnId watcher = Connect("watcher");
  Subscribe(watcher, "wills/#", QoS::kAtMostOnce);
  const ConnId c = ConnectWithWill("dying");
  engine_.OnConnectionClosed(c);
  EXPECT_EQ(Only<mqtt::Publish>(t_.Take(watcher, kV311)).size(), 1u);
}

TEST_F(WillTest, WillIsNotPublishedAfterDisconnect) {
  const ConnId watcher = Connect("watcher");
  Subscribe(watcher, "wills/#", QoS::kAtMostOnce);
  const ConnId c = ConnectWithWill("polite");
  Feed(c, mqtt::Disconnect{}, kV311);
  EXPECT_TRUE(t_.closed(c));
  EXPECT_TRUE(Only<mqtt::Publish>(t_.Take(watcher, kV311)).empty());
}

TEST_F(WillTest, KeepAliveExpiryAfterOneAndAHalfPeriodsClosesAndPublishesWill) {
  const ConnId watcher = Connect("watcher");
  Subscribe(watcher, "wills/#", QoS::kAtMostOnce);
  const ConnId c = ConnectWithWill("silent", /*keep_alive=*/2);
  Tick(2 * kSecond + kSecond / 2);  // 2.5 s < 3 s: still alive
  engine_.OnTimer();
  EXPECT_FALSE(t_.closed(c));
  Tick(3 * kSecond + 1);
  engine_.OnTimer();
  EXPECT_TRUE(t_.closed(c));
  EXPECT_EQ(Only<mqtt::Publish>(t_.Take(watcher, kV311)).size(), 1u);
}

TEST_F(EngineTest, PingreqGetsPingresp) {
  const ConnId c = Connect("c");
  Feed(c, mqtt::Pingreq{}, kV311);
  EXPECT_EQ(Only<mqtt::Pingresp>(t_.Take(c, kV311)).size(), 1u);
}

TEST_F(EngineTest, RetainedMessageIsSentOnSubscribeWithRetainFlagAndClearedByEmptyPayload) {
  const ConnId pub = Connect("pub");
  Publish(pub, "r/1", "v1", QoS::kAtLeastOnce, 1, /*retain=*/true);
  Publish(pub, "r/2", "v2", QoS::kAtMostOnce, 0, /*retain=*/true);
  Publish(pub, "r/2", "", QoS::kAtMostOnce, 0, /*retain=*/true);  // clears r/2
  const ConnId sub = Connect("sub");
  mqtt::Subscribe s;
  s.packet_id = 5;
  s.subscriptions.push_back({"r/#", {.max_qos = QoS::kAtLeastOnce}});
  Feed(sub, s, kV311);
  auto out = t_.Take(sub, kV311);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<mqtt::Suback>(out[0])) << "SUBACK comes first";
  const auto& p = std::get<mqtt::Publish>(out[1]);
  EXPECT_EQ(p.topic, "r/1");
  EXPECT_TRUE(p.retain);
}

TEST_F(EngineTest, LiveDeliveryOfARetainedPublishHasRetainClearedIn311) {
  const ConnId sub = Connect("sub");
  Subscribe(sub, "r", QoS::kAtMostOnce);
  const ConnId pub = Connect("pub");
  Publish(pub, "r", "v", QoS::kAtMostOnce, 0, /*retain=*/true);
  auto got = Only<mqtt::Publish>(t_.Take(sub, kV311));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].retain);
}

TEST_F(EngineTest, UnsubscribeStopsDeliveryAnd5ReportsMissingSubscription) {
  const ConnId c = Connect("c", kV5);
  Subscribe(c, "t", QoS::kAtMostOnce, kV5);
  mqtt::Unsubscribe u;
  u.packet_id = 2;
  u.filters = {"t", "never"};
  Feed(c, u, kV5);
  auto acks = Only<mqtt::Unsuback>(t_.Take(c, kV5));
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_codes[0], ReasonCode::kSuccess);
  EXPECT_EQ(acks[0].reason_codes[1], ReasonCode::kNoSubscriptionExisted);
  Publish(c, "t", "x", QoS::kAtMostOnce, 0, false, kV5);
  EXPECT_TRUE(Only<mqtt::Publish>(t_.Take(c, kV5)).empty());
}

TEST_F(EngineTest, MalformedPacketAfterConnectClosesWith5DisconnectReason) {
  const ConnId c = Connect("c", kV5);
  const std::vector<uint8_t> bad_publish = {0x30, 0x05, 0x00, 0x03, 'a', '/', '#'};
  engine_.OnBytes(c, bad_publish);
  EXPECT_TRUE(t_.closed(c));
  auto d = Only<mqtt::Disconnect>(t_.Take(c, kV5));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].reason_code, ReasonCode::kTopicNameInvalid);
}

TEST_F(EngineTest, PartialPacketIsNotConsumed) {
  const ConnId c = Connect("c");
  const std::vector<uint8_t> w = Wire(mqtt::Pingreq{}, kV311);
  EXPECT_EQ(engine_.OnBytes(c, std::span<const uint8_t>(w).first(1)), 0u);
  EXPECT_EQ(engine_.OnBytes(c, w), 2u);
}

TEST_F(EngineTest, V5TopicAliasIsResolvedOnLaterPublishes) {
  const ConnId sub = Connect("sub");
  Subscribe(sub, "long/topic", QoS::kAtMostOnce);
  const ConnId pub = Connect("pub", kV5);
  mqtt::Publish p;
  p.topic = "long/topic";
  p.payload = Bytes("1");
  p.properties.SetInt(mqtt::PropertyId::kTopicAlias, 3);
  Feed(pub, p, kV5);
  p.topic = "";
  p.payload = Bytes("2");
  Feed(pub, p, kV5);
  auto got = Only<mqtt::Publish>(t_.Take(sub, kV311));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].topic, "long/topic");
}

}  // namespace
}  // namespace telemq::session
