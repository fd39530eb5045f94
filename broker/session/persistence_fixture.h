// telemq: test doubles for the engine's durability tests: an in-memory
// Persistence that records every append, and a fixture wiring it to an
// MqttEngine with a FakeTransport (mqtt_engine_*_log_test.cc).
#pragma once

#include <algorithm>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "broker/session/fake_transport.h"
#include "broker/session/mqtt_engine.h"
#include "gtest/gtest.h"

namespace telemq::session::testing {

using mqtt::Packet;
using mqtt::ProtocolVersion;
using mqtt::QoS;

inline constexpr auto kV311 = ProtocolVersion::kV311;
inline constexpr auto kV5 = ProtocolVersion::kV5;

inline std::span<const uint8_t> Bytes(std::string_view s) {
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

}  // namespace telemq::session::testing
