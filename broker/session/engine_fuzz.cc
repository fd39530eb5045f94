// Fuzz target: the MQTT session engine driven by hostile clients.
//
// Where mqtt_decoder_fuzz checks packets one at a time, this one runs whole
// conversations: three connections whose bytes, closes, idle time and
// drained output the input decides, against one engine with a real
// subscription trie (FakeTransport). Any crash, sanitizer report or leak is a
// finding; so is output that is not a sequence of well-formed server packets
// of the connection's version.
//
// Input: a header byte, then operations.
//   header bit 0: each connection first sends a valid CONNECT of its own
//                 (client ids "c0".."c2"); the fuzzer then speaks from there
//   header bit 1: that CONNECT is MQTT 5.0 (else 3.1.1)
//   header bit 2: that CONNECT asks for a persistent session
//   op byte: connection = (op >> 4) % 3; action = op & 7:
//     0-3 feed the next (byte + 1) input bytes to the connection
//     4   the peer closes; a new connection takes its place
//     5   (byte) seconds pass; the engine's timers run
//     6   the connection's output drained
//     7   every connection's output drained
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "broker/base/log.h"
#include "broker/session/fake_transport.h"
#include "broker/session/mqtt_engine.h"

namespace telemq::session {
namespace {

constexpr int kConns = 3;
constexpr int64_t kSecond = 1'000'000'000;

void Check(bool condition) {
  if (!condition) std::abort();
}

class Conversation {
 public:
  explicit Conversation(uint8_t header)
      : auto_connect_((header & 1) != 0),
        version_((header & 2) != 0 ? mqtt::ProtocolVersion::kV5 : mqtt::ProtocolVersion::kV311),
        persistent_((header & 4) != 0),
        engine_(Options(), &transport_) {
    transport_.set_engine(&engine_);
    engine_.SetClock(mono_ns_, kRealBaseNs);
    for (int k = 0; k < kConns; ++k) Open(k);
  }

  ~Conversation() {
    for (Conn& conn : conns_) {
      if (!transport_.closed(conn.id)) engine_.OnConnectionClosed(conn.id);
    }
    mono_ns_ += 100'000 * kSecond;  // wills, session expiry
    engine_.SetClock(mono_ns_, kRealBaseNs + mono_ns_);
    engine_.OnTimer();
    engine_.ShutdownAll();
  }

  void Feed(int k, std::span<const uint8_t> bytes) {
    Conn& conn = conns_[k];
    conn.pending.insert(conn.pending.end(), bytes.begin(), bytes.end());
    const size_t used = engine_.OnBytes(conn.id, conn.pending);
    Check(used <= conn.pending.size());
    conn.pending.erase(conn.pending.begin(), conn.pending.begin() + static_cast<ptrdiff_t>(used));
    Settle();
  }

  void PeerClose(int k) {
    if (!transport_.closed(conns_[k].id)) engine_.OnConnectionClosed(conns_[k].id);
    CheckOutput(k);
    Open(k);
    Settle();
  }

  void Elapse(int64_t ns) {
    mono_ns_ += ns;
    engine_.SetClock(mono_ns_, kRealBaseNs + mono_ns_);
    engine_.OnTimer();
    Settle();
  }

  void Drained(int k) {
    CheckOutput(k);
    engine_.OnOutputDrained(conns_[k].id);
    Settle();
  }

 private:
  static constexpr int64_t kRealBaseNs = 1'700'000'000 * kSecond;

  struct Conn {
    ConnId id = 0;
    std::vector<uint8_t> pending;  // received, not yet a complete packet
  };

  static EngineOptions Options() {
    EngineOptions o;
    o.max_packet_size = 4096;  // small limits: reachable by short inputs
    o.max_inflight = 4;
    o.max_queued_messages = 16;
    o.max_queued_bytes = 8192;
    o.max_output_bytes = 16384;
    o.topic_alias_max = 4;
    o.receive_maximum = 8;
    return o;
  }

  void Open(int k) {
    Conn& conn = conns_[k];
    conn = Conn{.id = next_id_++};
    engine_.OnConnectionOpened(conn.id);
    if (!auto_connect_) return;
    mqtt::Connect connect;
    connect.version = version_;
    connect.client_id = client_ids_[k];
    connect.clean_start = !persistent_;
    connect.keep_alive = 10;
    if (persistent_ && version_ == mqtt::ProtocolVersion::kV5) {
      connect.properties.SetInt(mqtt::PropertyId::kSessionExpiryInterval, 60);
    }
    const std::vector<uint8_t> wire = testing::Wire(connect, version_);
    Check(engine_.OnBytes(conn.id, wire) == wire.size());
    CheckOutput(k);
    Check(!transport_.closed(conn.id));  // a valid CONNECT is accepted
  }

  // Checks every connection's output and replaces the ones the engine closed,
  // as reconnecting clients do. A CONNECT may take over another connection's
  // session (the fuzzer may use the harness's client ids): repeat until none
  // is closed; each client id closes at most the one connection holding it.
  void Settle() {
    for (bool again = true; again;) {
      again = false;
      for (int k = 0; k < kConns; ++k) {
        CheckOutput(k);
        if (transport_.closed(conns_[k].id)) {
          Open(k);
          again = true;
        }
      }
    }
  }

  // Everything written so far decodes as server packets of the version the
  // harness connected with (unknown when the fuzzer wrote the CONNECT).
  void CheckOutput(int k) {
    const ConnId id = conns_[k].id;
    const size_t before = transport_.malformed_output();
    transport_.Take(id, version_);
    if (auto_connect_) Check(transport_.malformed_output() == before);
  }

  const bool auto_connect_;
  const mqtt::ProtocolVersion version_;
  const bool persistent_;
  const std::array<std::string, kConns> client_ids_ = {"c0", "c1", "c2"};
  testing::FakeTransport transport_;
  MqttEngine engine_;
  std::array<Conn, kConns> conns_;
  ConnId next_id_ = 0;
  int64_t mono_ns_ = kSecond;
};

}  // namespace
}  // namespace telemq::session

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using telemq::session::Conversation;
  if (size == 0 || size > 1 << 16) return 0;
  static const bool quiet = [] {
    telemq::SetLogLevel(telemq::LogLevel::kError);  // the engine's log lines are expected here
    return true;
  }();
  (void)quiet;
  std::span<const uint8_t> in(data, size);
  Conversation conversation(in[0]);
  in = in.subspan(1);
  while (!in.empty()) {
    const uint8_t op = in[0];
    in = in.subspan(1);
    const int k = (op >> 4) % telemq::session::kConns;
    switch (op & 7) {
      case 0:
      case 1:
      case 2:
      case 3: {
        if (in.empty()) return 0;
        const size_t n = std::min<size_t>(size_t{in[0]} + 1, in.size() - 1);
        conversation.Feed(k, in.subspan(1, n));
        in = in.subspan(1 + n);
        break;
      }
      case 4:
        conversation.PeerClose(k);
        break;
      case 5:
        if (in.empty()) return 0;
        conversation.Elapse(int64_t{in[0]} * telemq::session::kSecond);
        in = in.subspan(1);
        break;
      case 6:
        conversation.Drained(k);
        break;
      case 7:
        for (int c = 0; c < telemq::session::kConns; ++c) conversation.Drained(c);
        break;
    }
  }
  return 0;
}
