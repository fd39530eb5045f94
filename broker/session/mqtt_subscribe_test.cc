// The subscription limit (EngineOptions::max_subscriptions): what a client
// beyond it is told, and what still works.
#include <string>
#include <vector>

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

class SubscriptionLimitTest : public ::testing::Test {
 protected:
  SubscriptionLimitTest() : engine_(Options(), &t_) {
    t_.set_engine(&engine_);
    engine_.SetClock(0, 0);
  }
  static EngineOptions Options() {
    EngineOptions o;
    o.max_subscriptions = 2;
    return o;
  }
  ConnId Connect(std::string_view id, ProtocolVersion v) {
    const ConnId c = next_conn_++;
    testing::OpenAndConnect(engine_, c, id, v, /*clean=*/true);
    t_.Take(c, v);  // the CONNACK
    return c;
  }
  // The SUBACK's codes for one SUBSCRIBE of `filters`, each at QoS 1.
  std::vector<ReasonCode> Subscribe(ConnId c, ProtocolVersion v,
                                    const std::vector<std::string>& filters) {
    mqtt::Subscribe s;
    s.packet_id = 1;
    for (const std::string& f : filters)
      s.subscriptions.push_back({f, {.max_qos = QoS::kAtLeastOnce}});
    engine_.OnBytes(c, Wire(s, v));
    for (const Packet& p : t_.Take(c, v)) {
      if (const auto* ack = std::get_if<mqtt::Suback>(&p)) return ack->reason_codes;
    }
    ADD_FAILURE() << "no SUBACK";
    return {};
  }

  FakeTransport t_;
  MqttEngine engine_;
  ConnId next_conn_ = 0;
};

constexpr auto kGranted = static_cast<ReasonCode>(1);

TEST_F(SubscriptionLimitTest, FiltersBeyondTheLimitGetFailure0x80In311) {
  const ConnId c = Connect("c", ProtocolVersion::kV311);
  EXPECT_EQ(Subscribe(c, ProtocolVersion::kV311, {"a", "b", "c"}),
            (std::vector<ReasonCode>{kGranted, kGranted, static_cast<ReasonCode>(0x80)}));
  EXPECT_EQ(engine_.stats().subscriptions_refused, 1u);
  EXPECT_FALSE(t_.closed(c));
}

TEST_F(SubscriptionLimitTest, FiltersBeyondTheLimitGetQuotaExceededIn5) {
  const ConnId c = Connect("c", ProtocolVersion::kV5);
  EXPECT_EQ(Subscribe(c, ProtocolVersion::kV5, {"a", "b", "c"}),
            (std::vector<ReasonCode>{kGranted, kGranted, ReasonCode::kQuotaExceeded}));
}

TEST_F(SubscriptionLimitTest, AtTheLimitAnExistingFilterCanStillBeReplaced) {
  const ConnId c = Connect("c", ProtocolVersion::kV311);
  Subscribe(c, ProtocolVersion::kV311, {"a", "b"});
  EXPECT_EQ(Subscribe(c, ProtocolVersion::kV311, {"b"}), std::vector<ReasonCode>{kGranted});
}

TEST_F(SubscriptionLimitTest, AnUnsubscribeMakesRoom) {
  const ConnId c = Connect("c", ProtocolVersion::kV311);
  Subscribe(c, ProtocolVersion::kV311, {"a", "b"});
  mqtt::Unsubscribe u;
  u.packet_id = 2;
  u.filters = {"a"};
  engine_.OnBytes(c, Wire(u, ProtocolVersion::kV311));
  t_.Take(c, ProtocolVersion::kV311);
  EXPECT_EQ(Subscribe(c, ProtocolVersion::kV311, {"c"}), std::vector<ReasonCode>{kGranted});
}

TEST_F(SubscriptionLimitTest, TheLimitIsPerSession) {
  const ConnId a = Connect("a", ProtocolVersion::kV311);
  const ConnId b = Connect("b", ProtocolVersion::kV311);
  Subscribe(a, ProtocolVersion::kV311, {"x", "y"});
  EXPECT_EQ(Subscribe(b, ProtocolVersion::kV311, {"x", "y"}),
            (std::vector<ReasonCode>{kGranted, kGranted}));
}

}  // namespace
}  // namespace telemq::session
