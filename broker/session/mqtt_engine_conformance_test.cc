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

}  // namespace
}  // namespace telemq::session
