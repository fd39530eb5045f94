// Engine-level tests of the MQTT rules the conformance suite
// (tests/conformance/) found broken, one TEST per rule, named after it. The
// end-to-end checks against the real binary are in tests/conformance/.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "broker/session/fake_transport.h"
#include "broker/session/mqtt_engine.h"
#include "gtest/gtest.h"

namespace telemq::session {
namespace {

using mqtt::Packet;
using mqtt::PropertyId;
using mqtt::ProtocolVersion;
using mqtt::QoS;
using mqtt::ReasonCode;
using testing::FakeTransport;
using testing::Wire;

constexpr auto kV311 = ProtocolVersion::kV311;
constexpr auto kV5 = ProtocolVersion::kV5;
constexpr int64_t kSecond = 1'000'000'000;

class ConformanceTest : public ::testing::Test {
 protected:
  ConformanceTest() { Start(EngineOptions()); }
  // A fresh engine (and transport) with these options.
  void Start(const EngineOptions& options) {
    t_ = std::make_unique<FakeTransport>();
    engine_ = std::make_unique<MqttEngine>(options, t_.get());
    t_->set_engine(engine_.get());
    next_conn_ = 0;
    Tick(0);
  }
  void Tick(int64_t mono) { engine_->SetClock(mono, 1'700'000'000 * kSecond + mono); }

  ConnId Open() {
    const ConnId c = next_conn_++;
    engine_->OnConnectionOpened(c);
    return c;
  }
  void Feed(ConnId c, const Packet& p, ProtocolVersion v) {
    const std::vector<uint8_t> w = Wire(p, v);
    engine_->OnBytes(c, w);
  }
  static mqtt::Connect ConnectPacket(std::string_view id, ProtocolVersion v) {
    mqtt::Connect p;
    p.version = v;
    p.client_id = id;
    p.clean_start = true;
    return p;
  }
  // Sends `p` on a new connection; returns it and the CONNACK.
  std::pair<ConnId, mqtt::Connack> Connect(const mqtt::Connect& p) {
    const ConnId c = Open();
    Feed(c, p, p.version);
    std::vector<Packet> out = t_->Take(c, p.version);
    EXPECT_FALSE(out.empty());
    if (out.empty()) return {c, {}};
    return {c, std::get<mqtt::Connack>(out[0])};
  }
  // Sends a QoS 2 PUBLISH with `id`; returns what the engine answered.
  std::vector<Packet> PublishQos2(ConnId c, uint16_t id, ProtocolVersion v) {
    mqtt::Publish p;
    p.topic = "t";
    p.qos = QoS::kExactlyOnce;
    p.packet_id = id;
    Feed(c, p, v);
    return t_->Take(c, v);
  }
  template <typename P>
  std::vector<P> Only(const std::vector<Packet>& packets) {
    std::vector<P> out;
    for (const Packet& p : packets) {
      if (const P* x = std::get_if<P>(&p)) out.push_back(*x);
    }
    return out;
  }

  std::unique_ptr<FakeTransport> t_;
  std::unique_ptr<MqttEngine> engine_;
  ConnId next_conn_ = 0;
};

// MQTT 5.0 3.2.2.3.14: with a Server Keep Alive in CONNACK the client uses
// that value, so the server must time the connection out by it, not by the
// larger value the client asked for.
TEST_F(ConformanceTest, ServerKeepAliveIsTheKeepAliveEnforced) {
  EngineOptions options;
  options.max_keepalive = 2;
  Start(options);
  mqtt::Connect p = ConnectPacket("ka", kV5);
  p.keep_alive = 600;
  const auto [c, ack] = Connect(p);
  EXPECT_EQ(ack.properties.GetInt(PropertyId::kServerKeepAlive), 2u);
  EXPECT_LE(t_->wake_at, 3 * kSecond) << "the timer must be set for 1.5 x the Server Keep Alive";
  Tick(3 * kSecond + 1);
  engine_->OnTimer();
  EXPECT_TRUE(t_->closed(c));
  auto d = Only<mqtt::Disconnect>(t_->Take(c, kV5));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].reason_code, ReasonCode::kKeepAliveTimeout);
}

// MQTT 5.0 3.3.4 (flow control): the server announces a Receive Maximum and a
// client with more unacknowledged QoS 1/2 PUBLISHes than that is disconnected
// with 0x93. QoS 1 is acknowledged at once; QoS 2 counts until PUBREL.
TEST_F(ConformanceTest, ReceiveMaximumIsAnnouncedInConnack) {
  EngineOptions options;
  options.receive_maximum = 10;
  Start(options);
  const auto [c, ack] = Connect(ConnectPacket("rm", kV5));
  EXPECT_TRUE(ack.properties.Has(PropertyId::kReceiveMaximum));
  EXPECT_EQ(ack.properties.GetInt(PropertyId::kReceiveMaximum), 10u);
}

TEST_F(ConformanceTest, ReceiveMaximumOf65535IsNotAnnounced) {
  EngineOptions options;
  options.receive_maximum = 65535;
  Start(options);
  const auto [c, ack] = Connect(ConnectPacket("rm", kV5));
  EXPECT_FALSE(ack.properties.Has(PropertyId::kReceiveMaximum));
}

TEST_F(ConformanceTest, MoreUnreleasedQos2ThanReceiveMaximumIsDisconnectedWith0x93) {
  EngineOptions options;
  options.receive_maximum = 2;
  Start(options);
  const ConnId c = Connect(ConnectPacket("rm", kV5)).first;
  EXPECT_EQ(Only<mqtt::Pubrec>(PublishQos2(c, 1, kV5)).size(), 1u);
  EXPECT_EQ(Only<mqtt::Pubrec>(PublishQos2(c, 2, kV5)).size(), 1u);
  // A resend of an unreleased id is not a new PUBLISH: still within the window.
  EXPECT_EQ(Only<mqtt::Pubrec>(PublishQos2(c, 1, kV5)).size(), 1u);
  EXPECT_FALSE(t_->closed(c));
  auto out = PublishQos2(c, 3, kV5);
  EXPECT_TRUE(t_->closed(c));
  auto d = Only<mqtt::Disconnect>(out);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].reason_code, ReasonCode::kReceiveMaximumExceeded);
  EXPECT_EQ(t_->routed.size(), 2u) << "the PUBLISH over the limit is not routed";
}

TEST_F(ConformanceTest, PubrelFreesAReceiveMaximumSlot) {
  EngineOptions options;
  options.receive_maximum = 1;
  Start(options);
  const ConnId c = Connect(ConnectPacket("rm", kV5)).first;
  for (uint16_t id = 1; id <= 5; ++id) {
    EXPECT_EQ(Only<mqtt::Pubrec>(PublishQos2(c, id, kV5)).size(), 1u);
    Feed(c, mqtt::Pubrel{.packet_id = id}, kV5);
    EXPECT_EQ(Only<mqtt::Pubcomp>(t_->Take(c, kV5)).size(), 1u);
  }
  EXPECT_FALSE(t_->closed(c));
}

TEST_F(ConformanceTest, ReceiveMaximumDoesNotApplyTo311Clients) {
  EngineOptions options;
  options.receive_maximum = 1;
  Start(options);
  const ConnId c = Connect(ConnectPacket("old", kV311)).first;
  for (uint16_t id = 1; id <= 5; ++id) {
    EXPECT_EQ(Only<mqtt::Pubrec>(PublishQos2(c, id, kV311)).size(), 1u);
  }
  EXPECT_FALSE(t_->closed(c));
}

// MQTT 5.0 3.1.3.2.3: a will whose Payload Format Indicator says UTF-8 but
// whose payload is not is refused with CONNACK 0x99 (as a PUBLISH would be).
TEST_F(ConformanceTest, WillWithInvalidUtf8PayloadFormatIsRefusedWith0x99) {
  mqtt::Connect p = ConnectPacket("will", kV5);
  mqtt::Will w;
  w.topic = "w";
  static constexpr uint8_t kNotUtf8[] = {0xFF, 0xFE};
  w.payload = kNotUtf8;
  w.properties.SetInt(PropertyId::kPayloadFormatIndicator, 1);
  p.will = w;
  const auto [c, ack] = Connect(p);
  EXPECT_EQ(ack.reason_code, ReasonCode::kPayloadFormatInvalid);
  EXPECT_TRUE(t_->closed(c));
  EXPECT_EQ(engine_->stats().sessions, 0u);
}

// MQTT 5.0 3.3.2.3.4: a server may send Topic Aliases to a client that
// allows them (Topic Alias Maximum in CONNECT), never above that maximum, and
// the mappings end with the network connection.
class ServerTopicAliasTest : public ConformanceTest {
 protected:
  // A 5.0 subscriber to "t/#" allowing `alias_max` aliases, and a publisher.
  void SetUpClients(uint16_t alias_max, bool persistent = false) {
    mqtt::Connect p = ConnectPacket("sub", kV5);
    if (alias_max != 0) p.properties.SetInt(PropertyId::kTopicAliasMaximum, alias_max);
    if (persistent) {
      p.clean_start = false;
      p.properties.SetInt(PropertyId::kSessionExpiryInterval, 60);
    }
    sub_ = Connect(p).first;
    mqtt::Subscribe s;
    s.packet_id = 1;
    s.subscriptions.push_back({"t/#", {.max_qos = QoS::kAtMostOnce}});
    Feed(sub_, s, kV5);
    t_->Take(sub_, kV5);
    pub_ = Connect(ConnectPacket("pub", kV5)).first;
  }
  // Publishes to each topic; returns (topic name, alias or 0) as received.
  std::vector<std::pair<std::string, uint32_t>> Send(const std::vector<std::string>& topics) {
    for (const std::string& topic : topics) {
      mqtt::Publish p;
      p.topic = topic;
      Feed(pub_, p, kV5);
    }
    std::vector<std::pair<std::string, uint32_t>> out;
    for (const mqtt::Publish& p : Only<mqtt::Publish>(t_->Take(sub_, kV5))) {
      out.emplace_back(std::string(p.topic), p.properties.GetInt(PropertyId::kTopicAlias));
    }
    return out;
  }
  ConnId sub_ = 0, pub_ = 0;
};

TEST_F(ServerTopicAliasTest, AliasesAreAssignedAndUsedWithinTheClientMaximum) {
  SetUpClients(2);
  using R = std::vector<std::pair<std::string, uint32_t>>;
  EXPECT_EQ(Send({"t/a", "t/b", "t/c", "t/a", "t/b", "t/c"}),
            (R{{"t/a", 1}, {"t/b", 2}, {"t/c", 0}, {"", 1}, {"", 2}, {"t/c", 0}}));
}

TEST_F(ServerTopicAliasTest, NoAliasesForAClientThatAllowsNone) {
  SetUpClients(0);
  using R = std::vector<std::pair<std::string, uint32_t>>;
  EXPECT_EQ(Send({"t/a", "t/a"}), (R{{"t/a", 0}, {"t/a", 0}}));
}

TEST_F(ServerTopicAliasTest, AliasesAreCappedByTheServerMaximum) {
  SetUpClients(65535);
  std::vector<std::string> topics;
  topics.reserve(70);
  for (int i = 0; i < 70; ++i) topics.push_back("t/" + std::to_string(i));
  const auto got = Send(topics);
  ASSERT_EQ(got.size(), 70u);
  EXPECT_EQ(got[63].second, 64u);
  EXPECT_EQ(got[64].second, 0u) << "topic_alias_max (64) caps the aliases used";
}

TEST_F(ServerTopicAliasTest, AliasesDoNotCarryOverToTheNextConnection) {
  SetUpClients(4, /*persistent=*/true);
  using R = std::vector<std::pair<std::string, uint32_t>>;
  EXPECT_EQ(Send({"t/a", "t/a"}), (R{{"t/a", 1}, {"", 1}}));
  engine_->OnConnectionClosed(sub_);
  mqtt::Connect p = ConnectPacket("sub", kV5);
  p.clean_start = false;
  p.properties.SetInt(PropertyId::kSessionExpiryInterval, 60);
  p.properties.SetInt(PropertyId::kTopicAliasMaximum, 4);
  sub_ = Connect(p).first;
  EXPECT_EQ(Send({"t/a"}), (R{{"t/a", 1}})) << "the topic name is sent again";
}

// MQTT 5.0 3.14.4 and 3.1.2.5: only a DISCONNECT with reason 0x00 discards
// the will; 0x04 asks for it and an error reason (>= 0x80) is an abnormal
// end, so the will is published after both.
class DisconnectWillTest : public ConformanceTest {
 protected:
  // Whether a watcher receives the will after a DISCONNECT with `reason`.
  bool WillAfterDisconnect(ProtocolVersion v, ReasonCode reason) {
    const ConnId watcher = Connect(ConnectPacket("watcher", kV311)).first;
    mqtt::Subscribe sub;
    sub.packet_id = 1;
    sub.subscriptions.push_back({"will", {.max_qos = QoS::kAtMostOnce}});
    Feed(watcher, sub, kV311);
    t_->Take(watcher, kV311);
    mqtt::Connect p = ConnectPacket("dying", v);
    mqtt::Will w;
    w.topic = "will";
    p.will = w;
    const ConnId c = Connect(p).first;
    Feed(c, mqtt::Disconnect{.reason_code = reason}, v);
    EXPECT_TRUE(t_->closed(c));
    return !Only<mqtt::Publish>(t_->Take(watcher, kV311)).empty();
  }
};

TEST_F(DisconnectWillTest, NormalDisconnectionDiscardsTheWill) {
  EXPECT_FALSE(WillAfterDisconnect(kV5, ReasonCode::kNormalDisconnection));
}

TEST_F(DisconnectWillTest, Disconnect311DiscardsTheWill) {
  EXPECT_FALSE(WillAfterDisconnect(kV311, ReasonCode::kNormalDisconnection));
}

TEST_F(DisconnectWillTest, DisconnectWithWillMessagePublishesIt) {
  EXPECT_TRUE(WillAfterDisconnect(kV5, ReasonCode::kDisconnectWithWillMessage));
}

TEST_F(DisconnectWillTest, DisconnectWithAnErrorReasonPublishesTheWill) {
  EXPECT_TRUE(WillAfterDisconnect(kV5, ReasonCode::kUnspecifiedError));
}

// MQTT 5.0 3.1.3.2.4: a will's Message Expiry Interval is the lifetime of the
// message once published, not counted from CONNECT; and a will published now
// is a newer retained message than one set meanwhile.
TEST_F(ConformanceTest, WillMessageExpiryRunsFromItsPublication) {
  const ConnId watcher = Connect(ConnectPacket("watcher", kV5)).first;
  mqtt::Subscribe sub;
  sub.packet_id = 1;
  sub.subscriptions.push_back({"will", {.max_qos = QoS::kAtLeastOnce}});
  Feed(watcher, sub, kV5);
  t_->Take(watcher, kV5);
  mqtt::Connect p = ConnectPacket("dying", kV5);
  mqtt::Will w;
  w.topic = "will";
  static constexpr uint8_t kPayload[] = {'x'};
  w.payload = kPayload;
  w.qos = QoS::kAtLeastOnce;
  w.retain = true;
  w.properties.SetInt(PropertyId::kMessageExpiryInterval, 10);
  p.will = w;
  const ConnId c = Connect(p).first;
  Tick(60 * kSecond);  // connected far longer than the will's lifetime
  engine_->OnConnectionClosed(c);
  auto got = Only<mqtt::Publish>(t_->Take(watcher, kV5));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].properties.GetInt(PropertyId::kMessageExpiryInterval), 10u);
  std::vector<MessageRef> retained;
  engine_->retained().Match("will", 1'700'000'000 * kSecond + 65 * kSecond, &retained);
  ASSERT_EQ(retained.size(), 1u) << "the retained will lives 10 s from its publication";
  EXPECT_EQ(retained[0]->arrival_ns(), 1'700'000'000 * kSecond + 60 * kSecond);
}

// MQTT 5.0 4.9 (MQTT-3.3.4-9): the send quota starts again at the client's
// Receive Maximum on every connection, and resending unacknowledged PUBLISHes
// uses it: a client reconnecting with a smaller Receive Maximum than the
// number in flight gets that many, then one more per acknowledgement, in the
// original order, before any new message.
TEST_F(ConformanceTest, ResendAfterReconnectHonoursTheNewReceiveMaximum) {
  auto connect_sub = [&](uint16_t receive_max, bool present) {
    mqtt::Connect p = ConnectPacket("sub", kV5);
    p.clean_start = !present;
    p.properties.SetInt(PropertyId::kSessionExpiryInterval, 60);
    p.properties.SetInt(PropertyId::kReceiveMaximum, receive_max);
    const ConnId c = Open();
    Feed(c, p, kV5);
    return c;
  };
  ConnId sub = connect_sub(10, false);
  mqtt::Subscribe subscribe;
  subscribe.packet_id = 1;
  subscribe.subscriptions.push_back({"t", {.max_qos = QoS::kAtLeastOnce}});
  Feed(sub, subscribe, kV5);
  t_->Take(sub, kV5);
  const ConnId pub = Connect(ConnectPacket("pub", kV5)).first;
  auto publish = [&](std::string_view payload, uint16_t id) {
    mqtt::Publish p;
    p.topic = "t";
    p.payload = {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()};
    p.qos = QoS::kAtLeastOnce;
    p.packet_id = id;
    Feed(pub, p, kV5);
  };
  for (uint16_t i = 1; i <= 4; ++i) publish(std::to_string(i), i);
  const auto first = Only<mqtt::Publish>(t_->Take(sub, kV5));
  ASSERT_EQ(first.size(), 4u);
  engine_->OnConnectionClosed(sub);

  sub = connect_sub(2, true);
  auto payloads = [&](ConnId c) {
    std::vector<std::string> out;
    for (const mqtt::Publish& p : Only<mqtt::Publish>(t_->Take(c, kV5))) {
      EXPECT_TRUE(p.dup);
      out.emplace_back(p.payload.begin(), p.payload.end());
    }
    return out;
  };
  EXPECT_EQ(payloads(sub), (std::vector<std::string>{"1", "2"}));
  publish("new", 5);  // queued behind the two still to be resent
  EXPECT_TRUE(payloads(sub).empty());
  Feed(sub, mqtt::Puback{.packet_id = first[0].packet_id}, kV5);
  EXPECT_EQ(payloads(sub), (std::vector<std::string>{"3"}));
  // An acknowledgement of a message not resent yet (the client had it) counts.
  Feed(sub, mqtt::Puback{.packet_id = first[3].packet_id}, kV5);
  EXPECT_TRUE(payloads(sub).empty()) << "2 and 3 still fill the window of 2";
  Feed(sub, mqtt::Puback{.packet_id = first[1].packet_id}, kV5);
  auto fresh = Only<mqtt::Publish>(t_->Take(sub, kV5));
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_FALSE(fresh[0].dup);
  EXPECT_EQ(std::string(fresh[0].payload.begin(), fresh[0].payload.end()), "new");
}

// MQTT 3.1.1 MQTT-3.1.2-6, 5.0 3.1.2.11.2: a session that lasts only as long
// as its network connection (Clean Session 1, Session Expiry 0) ends when a
// new connection with the same client id takes over; a CONNECT with Clean
// Session / Clean Start 0 then finds no session and reuses none of its state.
class TakeOverTest : public ConformanceTest {
 protected:
  // Connects `id` with `first`, subscribes, then takes over with `second`;
  // returns the second CONNACK's session present flag and whether a message
  // to the first connection's subscription reaches the second connection.
  std::pair<bool, bool> TakeOver(mqtt::Connect first, mqtt::Connect second) {
    const ConnId a = Connect(first).first;
    mqtt::Subscribe sub;
    sub.packet_id = 1;
    sub.subscriptions.push_back({"t", {.max_qos = QoS::kAtMostOnce}});
    Feed(a, sub, first.version);
    const auto [b, ack] = Connect(second);
    EXPECT_TRUE(t_->closed(a));
    const ConnId pub = Connect(ConnectPacket("pub", kV311)).first;
    mqtt::Publish p;
    p.topic = "t";
    Feed(pub, p, kV311);
    return {ack.session_present, !Only<mqtt::Publish>(t_->Take(b, second.version)).empty()};
  }
};

TEST_F(TakeOverTest, CleanSessionEndsWhenTakenOver311) {
  mqtt::Connect persistent = ConnectPacket("id", kV311);
  persistent.clean_start = false;
  EXPECT_EQ(TakeOver(ConnectPacket("id", kV311), persistent), std::make_pair(false, false));
}

TEST_F(TakeOverTest, SessionWithExpiry0EndsWhenTakenOver5) {
  mqtt::Connect resume = ConnectPacket("id", kV5);
  resume.clean_start = false;
  resume.properties.SetInt(PropertyId::kSessionExpiryInterval, 60);
  EXPECT_EQ(TakeOver(ConnectPacket("id", kV5), resume), std::make_pair(false, false));
}

TEST_F(TakeOverTest, PersistentSessionContinuesWhenTakenOver) {
  mqtt::Connect persistent = ConnectPacket("id", kV311);
  persistent.clean_start = false;
  EXPECT_EQ(TakeOver(persistent, persistent), std::make_pair(true, true));
}

}  // namespace
}  // namespace telemq::session
