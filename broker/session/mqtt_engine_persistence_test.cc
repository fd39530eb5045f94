// The engine's side of durability: what it logs, and which acknowledgements
// it holds behind the log (persistence.h), against an in-memory Persistence.
#include <algorithm>
#include <deque>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "broker/session/fake_transport.h"
#include "broker/session/mqtt_engine.h"
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

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Records every append; offsets count from 100 so they differ from indexes.
class FakePersistence : public Persistence {
 public:
  struct Entry {
    // "message", "session", "end", "consumed", "release", "begin",
    // "retained", "pending", "end-checkpoint", "out", "out-complete",
    // "out-pending"
    std::string kind;
    std::string key;  // topic or client id
    uint64_t offset = 0;
    SessionState state;              // session
    std::vector<uint64_t> consumed;  // consumed
    uint16_t packet_id = 0;          // message (QoS 2), release, out, out-complete
    std::vector<uint16_t> ids;       // pending
    std::vector<OutboundQos2> out;   // out (one), out-pending
  };

  uint32_t partition() const override { return 0; }
  bool ShouldLog(std::string_view, uint8_t qos, bool retain) const override {
    return qos > 0 || retain;
  }
  absl::StatusOr<uint64_t> AppendMessage(const MessageInit& m, std::string_view origin,
                                         uint16_t packet_id) override {
    absl::StatusOr<uint64_t> offset =
        Add({.kind = "message", .key = std::string(m.topic), .packet_id = packet_id});
    if (offset.ok() && keep_history) {
      MessageInit copy = m;
      copy.log_partition = 0;
      copy.log_offset = *offset;
      history.push_back(Message::Create(copy));
      history_origin.emplace_back(origin);
    }
    return offset;
  }
  absl::StatusOr<uint64_t> AppendSession(const SessionState& s) override {
    return Add({.kind = "session", .key = s.client_id, .state = s});
  }
  absl::StatusOr<uint64_t> AppendSessionEnd(std::string_view id) override {
    return Add({.kind = "end", .key = std::string(id)});
  }
  void AppendConsumed(std::string_view id, std::span<const uint64_t> c) override {
    (void)Add({.kind = "consumed", .key = std::string(id), .consumed = {c.begin(), c.end()}});
  }
  absl::StatusOr<uint64_t> AppendQos2Release(std::string_view id, uint16_t packet_id) override {
    return Add({.kind = "release", .key = std::string(id), .packet_id = packet_id});
  }
  absl::StatusOr<uint64_t> AppendQos2Out(std::string_view id, const OutboundQos2& o) override {
    return Add({.kind = "out", .key = std::string(id), .packet_id = o.packet_id, .out = {o}});
  }
  void AppendQos2OutComplete(std::string_view id, uint16_t packet_id) override {
    (void)Add({.kind = "out-complete", .key = std::string(id), .packet_id = packet_id});
  }
  void AppendQos2OutPending(std::string_view id, std::span<const OutboundQos2> o) override {
    (void)Add({.kind = "out-pending", .key = std::string(id), .out = {o.begin(), o.end()}});
  }
  void AppendCheckpointBegin() override { (void)Add({.kind = "begin"}); }
  void AppendRetainedCopy(const Message& m) override {
    (void)Add({.kind = "retained", .key = std::string(m.topic())});
  }
  void AppendQos2Pending(std::string_view id, std::span<const uint16_t> ids) override {
    (void)Add({.kind = "pending", .key = std::string(id), .ids = {ids.begin(), ids.end()}});
  }
  void AppendCheckpointEnd() override { (void)Add({.kind = "end-checkpoint"}); }
  absl::Status ReadHistory(const HistoryRequest& request, History* out) override {
    last_history_from_ns = request.from_ns;
    ++history_reads;
    // One partition: reading stops after the last message, or at the first
    // one left when max_messages is reached.
    uint64_t end = history.empty() ? 100 + entries.size() : history.back()->log_offset() + 1;
    for (size_t i = 0; i < history.size(); ++i) {
      const MessageRef& m = history[i];
      const bool before = request.from_offsets.empty() ? m->arrival_ns() < request.from_ns
                                                       : m->log_offset() < request.from_offsets[0];
      const std::string_view origin =
          i < history_origin.size() ? std::string_view(history_origin[i]) : std::string_view();
      if (before || !request.accept(m->topic(), m->qos(), origin)) continue;
      if (out->messages.size() == request.max_messages) {
        out->truncated = true;
        end = m->log_offset();
        break;
      }
      out->messages.push_back(m);
    }
    out->ends = {end};
    return absl::OkStatus();
  }

  std::vector<Entry> Of(std::string_view kind) const {
    std::vector<Entry> out;
    for (const Entry& e : entries) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }

  std::vector<Entry> entries;
  bool failed = false;
  std::vector<MessageRef> history;  // what ReadHistory finds, oldest first
  std::vector<std::string> history_origin;
  bool keep_history = false;  // AppendMessage also adds to `history`
  int history_reads = 0;
  int64_t last_history_from_ns = 0;

 private:
  absl::StatusOr<uint64_t> Add(Entry e) {
    if (failed) return absl::FailedPreconditionError("log failed");
    e.offset = 100 + entries.size();
    entries.push_back(std::move(e));
    return entries.back().offset;
  }
};

class PersistenceTest : public ::testing::Test {
 protected:
  PersistenceTest() : engine_(Options(), &t_, &log_) {
    t_.set_engine(&engine_);
    engine_.SetClock(0, 1'700'000'000'000'000'000);
  }
  static EngineOptions Options() {
    EngineOptions o;
    o.max_inflight = 4;
    return o;
  }
  ConnId Open() {
    const ConnId c = next_conn_++;
    engine_.OnConnectionOpened(c);
    return c;
  }
  void Feed(ConnId c, const Packet& p, ProtocolVersion v = kV311) {
    const std::vector<uint8_t> w = Wire(p, v);
    engine_.OnBytes(c, w);
  }
  // Sends a CONNECT and leaves the answer (CONNACK and what follows it) in
  // the transport for the test to take.
  ConnId SendConnect(std::string_view id, bool clean, ProtocolVersion v = kV311) {
    const ConnId c = Open();
    mqtt::Connect p;
    p.version = v;
    p.client_id = id;
    p.clean_start = clean;
    if (v == kV5 && !clean) p.properties.SetInt(mqtt::PropertyId::kSessionExpiryInterval, 600);
    Feed(c, p, v);
    return c;
  }
  ConnId Connect(std::string_view id, bool clean, ProtocolVersion v = kV311,
                 bool expect_present = false) {
    const ConnId c = SendConnect(id, clean, v);
    std::vector<Packet> out = t_.Take(c, v);
    EXPECT_GE(out.size(), 1u);
    if (!out.empty()) {
      EXPECT_EQ(std::get<mqtt::Connack>(out[0]).session_present, expect_present);
    }
    return c;
  }
  void Subscribe(ConnId c, std::string_view filter, QoS qos) {
    mqtt::Subscribe s;
    s.packet_id = 1;
    s.subscriptions.push_back({filter, {.max_qos = qos}});
    Feed(c, s);
    t_.Take(c, kV311);
  }
  void Publish(ConnId c, std::string_view topic, QoS qos, uint16_t id, ProtocolVersion v = kV311) {
    mqtt::Publish p;
    p.topic = topic;
    p.payload = Bytes("x");
    p.qos = qos;
    p.packet_id = id;
    Feed(c, p, v);
  }
  template <typename P>
  static std::vector<P> Only(const std::vector<Packet>& packets) {
    std::vector<P> out;
    for (const Packet& p : packets) {
      if (const P* x = std::get_if<P>(&p)) out.push_back(*x);
    }
    return out;
  }

  FakeTransport t_;
  FakePersistence log_;
  MqttEngine engine_;
  ConnId next_conn_ = 0;
};

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

TEST_F(PersistenceTest, RestoredSubscriptionsReceiveNewMessages) {
  RestoredSession r;
  r.state = {"sub", kV311, UINT32_MAX, {{"a/#", {.qos = 1}}}};
  engine_.Restore(std::move(r));
  const ConnId pub = Connect("pub", true);
  Publish(pub, "a/x", QoS::kAtLeastOnce, 1);
  const ConnId sub = SendConnect("sub", false);
  EXPECT_EQ(Only<mqtt::Publish>(t_.Take(sub, kV311)).size(), 1u);
}

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
class ReplayTest : public PersistenceTest {
 protected:
  static constexpr int64_t kNow = 1'700'000'000'000'000'000;
  void SetUp() override {
    for (int i = 0; i < 5; ++i) {
      log_.history.push_back(Message::Create({.topic = i % 2 ? "odd/x" : "even/x",
                                              .payload = Bytes(payloads_[i]),
                                              .qos = 1,
                                              .arrival_ns = kNow - (5 - i) * int64_t{1'000'000'000},
                                              .log_partition = 0,
                                              .log_offset = uint64_t(10 + i)}));
    }
  }
  std::vector<mqtt::Publish> SubscribeWithReplay(ConnId c, std::string_view filter,
                                                 std::string_view from,
                                                 QoS qos = QoS::kAtLeastOnce) {
    mqtt::Subscribe sub;
    sub.packet_id = 2;
    sub.subscriptions.push_back({filter, {.max_qos = qos}});
    mqtt::StringPair up{"replay-from", from};
    sub.properties.set_user_properties({&up, 1});
    Feed(c, sub, kV5);
    std::vector<Packet> out = t_.Take(c, kV5);
    EXPECT_FALSE(out.empty());
    if (!out.empty()) suback_ = std::get<mqtt::Suback>(out[0]);
    return Only<mqtt::Publish>(out);
  }
  std::string payloads_[5] = {"0", "1", "2", "3", "4"};
  mqtt::Suback suback_;
};

TEST_F(ReplayTest, ReplayFromDeliversTheMatchingHistoryAfterTheSuback) {
  const ConnId c = Connect("r", true, kV5);
  auto got = SubscribeWithReplay(c, "even/#", "-10s");
  EXPECT_EQ(suback_.reason_codes[0], ReasonCode::kGrantedQoS1);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(got[0].payload.data()), 1), "0");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(got[2].payload.data()), 1), "4");
  EXPECT_EQ(got[0].qos, QoS::kAtLeastOnce);
  EXPECT_EQ(log_.last_history_from_ns, kNow - 10'000'000'000);
}

TEST_F(ReplayTest, ReplayFromAnAbsoluteTimeSkipsOlderMessages) {
  const ConnId c = Connect("r", true, kV5);
  // kNow - 2.5 s, as Unix seconds: messages 3 and 4 are newer.
  auto got = SubscribeWithReplay(c, "#", "1699999997.5");
  ASSERT_EQ(got.size(), 2u);
}

TEST_F(ReplayTest, ABadReplayFromRefusesTheSubscribe) {
  const ConnId c = Connect("r", true, kV5);
  auto got = SubscribeWithReplay(c, "#", "yesterday");
  EXPECT_TRUE(got.empty());
  ASSERT_EQ(suback_.reason_codes.size(), 1u);
  EXPECT_EQ(suback_.reason_codes[0], ReasonCode::kImplementationSpecificError);
  // Not subscribed: a live message does not arrive.
  const ConnId pub = Connect("p", true);
  Publish(pub, "x", QoS::kAtLeastOnce, 1);
  EXPECT_TRUE(Only<mqtt::Publish>(t_.Take(c, kV5)).empty());
}

TEST_F(ReplayTest, LiveMessagesAlreadyReplayedAreNotDeliveredTwice) {
  const ConnId c = Connect("r", true, kV5);
  ASSERT_EQ(SubscribeWithReplay(c, "even/#", "-10s").size(), 3u);
  // The last replayed message (offset 14) arriving live from another shard:
  t_.RouteFromElsewhere(log_.history[4]);
  EXPECT_TRUE(Only<mqtt::Publish>(t_.Take(c, kV5)).empty());
  // A newer one does arrive.
  t_.RouteFromElsewhere(Message::Create(
      {.topic = "even/y", .payload = Bytes("5"), .qos = 1, .log_partition = 0, .log_offset = 15}));
  EXPECT_EQ(Only<mqtt::Publish>(t_.Take(c, kV5)).size(), 1u);
}

TEST_F(ReplayTest, ReplayedMessagesBeyondTheInFlightWindowWaitInTheQueue) {
  const ConnId c = Connect("r", true, kV5);
  engine_.SetClock(0, kNow);
  // max_inflight 4: 4 in flight, the rest queued; the default queue (10000)
  // has room for all 5.
  auto got = SubscribeWithReplay(c, "#", "-1h");
  EXPECT_EQ(got.size(), 4u);
}

TEST(ParseReplayFrom, AcceptsTheThreeForms) {
  int64_t ns = 0;
  EXPECT_TRUE(ParseReplayFrom("2026-11-30T06:00:00Z", 0, &ns));
  EXPECT_EQ(ns, 1796018400ll * 1'000'000'000);
  EXPECT_TRUE(ParseReplayFrom("1796018400.5", 0, &ns));
  EXPECT_EQ(ns, 1796018400ll * 1'000'000'000 + 500'000'000);
  EXPECT_TRUE(ParseReplayFrom("-90s", 100'000'000'000, &ns));
  EXPECT_EQ(ns, 10'000'000'000);
  EXPECT_TRUE(ParseReplayFrom("-2h", 8'000'000'000'000, &ns));
  EXPECT_EQ(ns, 800'000'000'000);
  EXPECT_FALSE(ParseReplayFrom("", 0, &ns));
  EXPECT_FALSE(ParseReplayFrom("-5x", 0, &ns));
  EXPECT_FALSE(ParseReplayFrom("-s", 0, &ns));
  EXPECT_FALSE(ParseReplayFrom("tomorrow", 0, &ns));
  EXPECT_FALSE(ParseReplayFrom("-1e30d", 0, &ns));
}

// A backlog beyond the queue limits stays in the log (mqtt_backlog.cc).
class BacklogTest : public PersistenceTest {
 protected:
  BacklogTest() { log_.keep_history = true; }
  // Receives `n` PUBLISHes on `c`, acknowledging each, and returns their payloads.
  std::vector<std::string> Drain(ConnId c, size_t n) {
    std::vector<std::string> got;
    for (int round = 0; round < 1000 && got.size() < n; ++round) {
      auto pubs = Only<mqtt::Publish>(t_.Take(c, kV311));
      if (pubs.empty()) break;
      for (const auto& p : pubs) {
        got.emplace_back(reinterpret_cast<const char*>(p.payload.data()), p.payload.size());
        Feed(c, mqtt::Puback{.packet_id = p.packet_id});
      }
    }
    return got;
  }
  void PublishNumbered(ConnId pub, int first, int count) {
    for (int i = first; i < first + count; ++i) {
      payloads_.push_back(std::to_string(i));
      mqtt::Publish p;
      p.topic = "a";
      p.payload = Bytes(payloads_.back());
      p.qos = QoS::kAtLeastOnce;
      p.packet_id = static_cast<uint16_t>(i % 60000 + 1);
      Feed(pub, p);
    }
  }
  static std::vector<std::string> Numbers(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i < to; ++i) out.push_back(std::to_string(i));
    return out;
  }
  std::deque<std::string> payloads_;  // stable addresses for the PUBLISH views
};

TEST_F(BacklogTest, AnOfflineBacklogBeyondTheQueueLimitStaysInTheLogAndIsReadBackInOrder) {
  EngineOptions o = Options();
  o.max_queued_messages = 8;
  MqttEngine engine(o, &t_, &log_);
  t_.set_engine(&engine);
  engine.SetClock(0, 1'700'000'000'000'000'000);
  // Connects; the CONNACK (and whatever follows it) stays in the output.
  auto connect = [&](std::string_view id, bool clean) {
    const ConnId c = next_conn_++;
    engine.OnConnectionOpened(c);
    mqtt::Connect p;
    p.version = kV311;
    p.client_id = id;
    p.clean_start = clean;
    engine.OnBytes(c, Wire(p, kV311));
    return c;
  };
  const ConnId sub = connect("sub", false);
  t_.Take(sub, kV311);
  mqtt::Subscribe s;
  s.packet_id = 1;
  s.subscriptions.push_back({"a", {.max_qos = QoS::kAtLeastOnce}});
  engine.OnBytes(sub, Wire(s, kV311));
  t_.Take(sub, kV311);
  engine.OnBytes(sub, Wire(mqtt::Disconnect{}, kV311));
  const ConnId pub = connect("pub", true);
  t_.Take(pub, kV311);
  for (int i = 0; i < 30; ++i) {
    payloads_.push_back(std::to_string(i));
    mqtt::Publish p;
    p.topic = "a";
    p.payload = Bytes(payloads_.back());
    p.qos = QoS::kAtLeastOnce;
    p.packet_id = static_cast<uint16_t>(i + 1);
    engine.OnBytes(pub, Wire(p, kV311));
  }
  EXPECT_EQ(engine.stats().queue_dropped, 0u);
  EXPECT_EQ(engine.stats().spilled_sessions, 1u);
  // Consumption stops at the first message still owed, in memory or in the log.
  engine.FlushConsumed();
  auto consumed = log_.Of("consumed");
  ASSERT_FALSE(consumed.empty());
  EXPECT_EQ(consumed.back().consumed[0], log_.Of("message")[0].offset);

  const ConnId again = connect("sub", false);
  std::vector<std::string> got;
  for (int round = 0; round < 100 && got.size() < 30; ++round) {
    auto pubs = Only<mqtt::Publish>(t_.Take(again, kV311));
    if (pubs.empty()) break;
    for (const auto& p : pubs) {
      got.emplace_back(reinterpret_cast<const char*>(p.payload.data()), p.payload.size());
      engine.OnBytes(again, Wire(mqtt::Puback{.packet_id = p.packet_id}, kV311));
    }
  }
  EXPECT_EQ(got, Numbers(0, 30));
  EXPECT_EQ(engine.stats().refilled, 22u);
  EXPECT_GE(log_.history_reads, 2);  // read back in parts, as the queue drained
  // Caught up: new messages are queued in memory again.
  const int reads = log_.history_reads;
  payloads_.push_back("live");
  mqtt::Publish p;
  p.topic = "a";
  p.payload = Bytes(payloads_.back());
  p.qos = QoS::kAtLeastOnce;
  p.packet_id = 999;
  engine.OnBytes(pub, Wire(p, kV311));
  auto live = Only<mqtt::Publish>(t_.Take(again, kV311));
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(log_.history_reads, reads);
  t_.set_engine(&engine_);
}

TEST_F(BacklogTest, ARestoredSpilledSessionReadsItsBacklogFromTheLog) {
  const ConnId pub = Connect("pub", true);
  PublishNumbered(pub, 0, 6);  // in the fake log
  RestoredSession r;
  r.state = {"sub", kV311, UINT32_MAX, {{"a", {.qos = 1}}}};
  r.queue.push_back({log_.history[0], 1, false, {}});
  r.queue.push_back({log_.history[1], 1, false, {}});
  r.consumed = {log_.history.back()->log_offset() + 1};
  r.spill_from = {log_.history[2]->log_offset()};
  engine_.Restore(std::move(r));
  const ConnId c = SendConnect("sub", false);
  EXPECT_EQ(Drain(c, 6), Numbers(0, 6));
  EXPECT_GE(log_.history_reads, 1);
  engine_.FlushConsumed();
  const auto consumed = log_.Of("consumed");
  ASSERT_FALSE(consumed.empty());
  EXPECT_EQ(consumed.back().consumed[0], log_.history.back()->log_offset() + 1);
}

TEST_F(BacklogTest, NoLocalIsHonouredWhenReadingBack) {
  // Two logged messages of topic "a": one published by "me", one by "other".
  for (const char* origin : {"me", "other"}) {
    payloads_.push_back(origin);
    log_.history.push_back(Message::Create({.topic = "a",
                                            .payload = Bytes(payloads_.back()),
                                            .qos = 1,
                                            .log_partition = 0,
                                            .log_offset = log_.history.size() + 50}));
    log_.history_origin.emplace_back(origin);
  }
  RestoredSession r;
  r.state = {"me", kV311, UINT32_MAX, {{"a", {.qos = 1, .no_local = true}}}};
  r.consumed = {52};
  r.spill_from = {50};
  engine_.Restore(std::move(r));
  const ConnId me = SendConnect("me", false);
  EXPECT_EQ(Drain(me, 2), std::vector<std::string>{"other"});
}

}  // namespace
}  // namespace telemq::session
