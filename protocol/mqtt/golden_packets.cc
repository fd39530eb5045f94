#include "protocol/mqtt/golden_packets.h"

namespace telemq::mqtt::testing {
namespace {

using V = ProtocolVersion;
using RC = ReasonCode;
using PI = PropertyId;

std::span<const uint8_t> U(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

constexpr StringPair kKv[] = {{"k", "v"}};
constexpr uint32_t kSubIds129[] = {1, 129};
constexpr uint32_t kSubId7[] = {7};
constexpr uint8_t kTwoBytes[] = {1, 2};

Connect Connect311() {
  Connect c;
  c.version = V::kV311;
  c.clean_start = true;
  c.keep_alive = 60;
  c.client_id = "cid";
  c.will.emplace();
  c.will->qos = QoS::kAtLeastOnce;
  c.will->retain = true;
  c.will->topic = "w/t";
  c.will->payload = U("by");
  c.username = "us";
  c.password = U("pw");
  return c;
}

Connect Connect5() {
  Connect c;
  c.version = V::kV5;
  c.keep_alive = 10;
  c.client_id = "a";
  c.properties.SetInt(PI::kSessionExpiryInterval, 60);
  c.properties.SetInt(PI::kReceiveMaximum, 10);
  return c;
}

Connect Connect5Will() {
  Connect c;
  c.version = V::kV5;
  c.keep_alive = 10;
  c.will.emplace();
  c.will->topic = "t";
  c.will->payload = U("hi");
  c.will->properties.SetInt(PI::kPayloadFormatIndicator, 1);
  c.will->properties.SetInt(PI::kWillDelayInterval, 5);
  c.will->properties.set_user_properties(kKv);
  return c;
}

Connack MakeConnack(bool present, RC rc) {
  Connack c;
  c.session_present = present;
  c.reason_code = rc;
  return c;
}

Connack Connack5Props() {
  Connack c;
  c.properties.SetString(PI::kAssignedClientIdentifier, "cid");
  c.properties.SetInt(PI::kTopicAliasMaximum, 5);
  c.properties.SetInt(PI::kMaximumQoS, 1);
  return c;
}

Publish MakePublish(std::string_view topic, QoS qos, uint16_t id, std::string_view payload) {
  Publish p;
  p.topic = topic;
  p.qos = qos;
  p.packet_id = id;
  p.payload = U(payload);
  return p;
}

Publish Publish5Props() {
  Publish p = MakePublish("t", QoS::kExactlyOnce, 1, "{}");
  p.properties.SetInt(PI::kPayloadFormatIndicator, 1);
  p.properties.SetInt(PI::kMessageExpiryInterval, 60);
  p.properties.SetString(PI::kContentType, "json");
  p.properties.SetString(PI::kResponseTopic, "r");
  p.properties.SetBinary(PI::kCorrelationData, kTwoBytes);
  p.properties.SetInt(PI::kTopicAlias, 5);
  p.properties.set_user_properties(kKv);
  return p;
}

template <typename T>
T Ack(uint16_t id, RC rc = RC::kSuccess) {
  T a;
  a.packet_id = id;
  a.reason_code = rc;
  return a;
}

Subscribe Subscribe311() {
  Subscribe s;
  s.packet_id = 10;
  s.subscriptions.push_back({"a/#", {QoS::kAtLeastOnce}});
  s.subscriptions.push_back({"s/+", {QoS::kExactlyOnce}});
  return s;
}

Subscribe Subscribe5() {
  Subscribe s;
  s.packet_id = 11;
  s.properties.set_subscription_ids(kSubId7);
  s.subscriptions.push_back({"a/b", {QoS::kAtLeastOnce, true, true, RetainHandling::kDoNotSend}});
  s.subscriptions.push_back({"$share/g/x/#", {QoS::kAtLeastOnce}});
  return s;
}

template <typename T>
T WithCodes(uint16_t id, std::initializer_list<RC> codes) {
  T a;
  a.packet_id = id;
  a.reason_codes.assign(codes.begin(), codes.end());
  return a;
}

Unsubscribe MakeUnsubscribe(uint16_t id, std::initializer_list<std::string_view> filters) {
  Unsubscribe u;
  u.packet_id = id;
  u.filters.assign(filters.begin(), filters.end());
  return u;
}

std::vector<GoldenPacket> Build() {
  std::vector<GoldenPacket> g;
  const Role S = Role::kServer, C = Role::kClient;
  // clang-format off
  g.push_back({"connect_v311_will_user_pass", S, V::kV311,
      {0x10, 0x20, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0xEE, 0x00, 0x3C,
       0x00, 0x03, 'c', 'i', 'd', 0x00, 0x03, 'w', '/', 't', 0x00, 0x02, 'b', 'y',
       0x00, 0x02, 'u', 's', 0x00, 0x02, 'p', 'w'}, Connect311(), true});
  g.push_back({"connect_v5_properties", S, V::kV5,
      {0x10, 0x16, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x02, 0x00, 0x0A,
       0x08, 0x11, 0x00, 0x00, 0x00, 0x3C, 0x21, 0x00, 0x0A, 0x00, 0x01, 'a'}, Connect5(), true});
  {
    Connect c = Connect5Will();
    c.clean_start = true;
    g.push_back({"connect_v5_will_properties", S, V::kV5,
        {0x10, 0x23, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x06, 0x00, 0x0A, 0x00, 0x00, 0x00,
         0x0E, 0x01, 0x01, 0x18, 0x00, 0x00, 0x00, 0x05, 0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v',
         0x00, 0x01, 't', 0x00, 0x02, 'h', 'i'}, c, true});
  }
  g.push_back({"connack_v311", C, V::kV311, {0x20, 0x02, 0x00, 0x00},
      MakeConnack(false, RC::kSuccess), true});
  g.push_back({"connack_v311_session_present", C, V::kV311, {0x20, 0x02, 0x01, 0x00},
      MakeConnack(true, RC::kSuccess), true});
  g.push_back({"connack_v311_not_authorized", C, V::kV311, {0x20, 0x02, 0x00, 0x05},
      MakeConnack(false, RC::kNotAuthorized), true});
  g.push_back({"connack_v5", C, V::kV5, {0x20, 0x03, 0x00, 0x00, 0x00},
      MakeConnack(false, RC::kSuccess), true});
  g.push_back({"connack_v5_not_authorized", C, V::kV5, {0x20, 0x03, 0x00, 0x87, 0x00},
      MakeConnack(false, RC::kNotAuthorized), true});
  g.push_back({"connack_v5_properties", C, V::kV5,
      {0x20, 0x0E, 0x00, 0x00, 0x0B, 0x12, 0x00, 0x03, 'c', 'i', 'd', 0x22, 0x00, 0x05,
       0x24, 0x01}, Connack5Props(), true});
  g.push_back({"publish_v311_qos0", S, V::kV311,
      {0x30, 0x0A, 0x00, 0x03, 'a', '/', 'b', 'h', 'e', 'l', 'l', 'o'},
      MakePublish("a/b", QoS::kAtMostOnce, 0, "hello"), true});
  {
    Publish p = MakePublish("t", QoS::kAtLeastOnce, 10, "xy");
    p.dup = true;
    p.retain = true;
    g.push_back({"publish_v311_qos1_dup_retain", S, V::kV311,
        {0x3B, 0x07, 0x00, 0x01, 't', 0x00, 0x0A, 'x', 'y'}, p, true});
  }
  g.push_back({"publish_v5_qos0", S, V::kV5,
      {0x30, 0x0B, 0x00, 0x03, 'a', '/', 'b', 0x00, 'h', 'e', 'l', 'l', 'o'},
      MakePublish("a/b", QoS::kAtMostOnce, 0, "hello"), true});
  g.push_back({"publish_v5_qos2_properties", S, V::kV5,
      {0x34, 0x29, 0x00, 0x01, 't', 0x00, 0x01, 0x21,
       0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x3C, 0x03, 0x00, 0x04, 'j', 's', 'o', 'n',
       0x08, 0x00, 0x01, 'r', 0x09, 0x00, 0x02, 0x01, 0x02, 0x23, 0x00, 0x05,
       0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', '{', '}'}, Publish5Props(), true});
  {
    Publish p = MakePublish("", QoS::kAtMostOnce, 0, "p");
    p.properties.SetInt(PI::kTopicAlias, 1);
    g.push_back({"publish_v5_topic_alias_empty_topic", S, V::kV5,
        {0x30, 0x07, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01, 'p'}, p, true});
  }
  {
    Publish p = MakePublish("t", QoS::kAtMostOnce, 0, "");
    p.properties.set_subscription_ids(kSubIds129);
    g.push_back({"publish_v5_subscription_ids", C, V::kV5,
        {0x30, 0x09, 0x00, 0x01, 't', 0x05, 0x0B, 0x01, 0x0B, 0x81, 0x01}, p, true});
  }
  g.push_back({"puback_v311", S, V::kV311, {0x40, 0x02, 0x00, 0x01}, Ack<Puback>(1), true});
  g.push_back({"pubrec_v311", C, V::kV311, {0x50, 0x02, 0x00, 0x02}, Ack<Pubrec>(2), true});
  g.push_back({"pubrel_v311", S, V::kV311, {0x62, 0x02, 0x00, 0x03}, Ack<Pubrel>(3), true});
  g.push_back({"pubcomp_v311", C, V::kV311, {0x70, 0x02, 0x00, 0x04}, Ack<Pubcomp>(4), true});
  g.push_back({"puback_v5_short", S, V::kV5, {0x40, 0x02, 0x00, 0x01}, Ack<Puback>(1), true});
  g.push_back({"puback_v5_reason", C, V::kV5, {0x40, 0x03, 0x00, 0x01, 0x10},
      Ack<Puback>(1, RC::kNoMatchingSubscribers), true});
  {
    Puback a = Ack<Puback>(1, RC::kUnspecifiedError);
    a.properties.SetString(PI::kReasonString, "bad");
    g.push_back({"puback_v5_properties", S, V::kV5,
        {0x40, 0x0A, 0x00, 0x01, 0x80, 0x06, 0x1F, 0x00, 0x03, 'b', 'a', 'd'}, a, true});
  }
  g.push_back({"pubrec_v5_reason", S, V::kV5, {0x50, 0x03, 0x00, 0x02, 0x97},
      Ack<Pubrec>(2, RC::kQuotaExceeded), true});
  g.push_back({"pubrel_v5_reason", C, V::kV5, {0x62, 0x03, 0x00, 0x03, 0x92},
      Ack<Pubrel>(3, RC::kPacketIdentifierNotFound), true});
  g.push_back({"pubcomp_v5_empty_properties", S, V::kV5,
      {0x70, 0x04, 0x00, 0x04, 0x00, 0x00}, Ack<Pubcomp>(4), false});
  g.push_back({"subscribe_v311", S, V::kV311,
      {0x82, 0x0E, 0x00, 0x0A, 0x00, 0x03, 'a', '/', '#', 0x01, 0x00, 0x03, 's', '/', '+', 0x02},
      Subscribe311(), true});
  g.push_back({"subscribe_v5_options_shared", S, V::kV5,
      {0x82, 0x1A, 0x00, 0x0B, 0x02, 0x0B, 0x07, 0x00, 0x03, 'a', '/', 'b', 0x2D,
       0x00, 0x0C, '$', 's', 'h', 'a', 'r', 'e', '/', 'g', '/', 'x', '/', '#', 0x01},
      Subscribe5(), true});
  g.push_back({"suback_v311", C, V::kV311, {0x90, 0x04, 0x00, 0x0A, 0x01, 0x80},
      WithCodes<Suback>(10, {RC::kGrantedQoS1, RC::kUnspecifiedError}), true});
  g.push_back({"suback_v5", C, V::kV5,
      {0x90, 0x09, 0x00, 0x0B, 0x00, 0x00, 0x01, 0x02, 0x80, 0x8F, 0xA2},
      WithCodes<Suback>(11, {RC::kGrantedQoS0, RC::kGrantedQoS1, RC::kGrantedQoS2,
                             RC::kUnspecifiedError, RC::kTopicFilterInvalid,
                             RC::kWildcardSubscriptionsNotSupported}), true});
  g.push_back({"unsubscribe_v311", S, V::kV311,
      {0xA2, 0x0A, 0x00, 0x0C, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x01, '#'},
      MakeUnsubscribe(12, {"a/b", "#"}), true});
  {
    Unsubscribe u = MakeUnsubscribe(12, {"x"});
    u.properties.set_user_properties(kKv);
    g.push_back({"unsubscribe_v5_user_property", S, V::kV5,
        {0xA2, 0x0D, 0x00, 0x0C, 0x07, 0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', 0x00, 0x01, 'x'},
        u, true});
  }
  g.push_back({"unsuback_v311", C, V::kV311, {0xB0, 0x02, 0x00, 0x0C}, WithCodes<Unsuback>(12, {}), true});
  g.push_back({"unsuback_v5", C, V::kV5, {0xB0, 0x05, 0x00, 0x0C, 0x00, 0x00, 0x11},
      WithCodes<Unsuback>(12, {RC::kSuccess, RC::kNoSubscriptionExisted}), true});
  g.push_back({"pingreq_v311", S, V::kV311, {0xC0, 0x00}, Pingreq{}, true});
  g.push_back({"pingreq_v5", S, V::kV5, {0xC0, 0x00}, Pingreq{}, true});
  g.push_back({"pingresp_v311", C, V::kV311, {0xD0, 0x00}, Pingresp{}, true});
  g.push_back({"pingresp_v5", C, V::kV5, {0xD0, 0x00}, Pingresp{}, true});
  g.push_back({"disconnect_v311", S, V::kV311, {0xE0, 0x00}, Disconnect{}, true});
  g.push_back({"disconnect_v5_short", S, V::kV5, {0xE0, 0x00}, Disconnect{}, true});
  g.push_back({"disconnect_v5_with_will", S, V::kV5, {0xE0, 0x01, 0x04},
      Disconnect{RC::kDisconnectWithWillMessage, {}}, true});
  {
    Disconnect d{RC::kDisconnectWithWillMessage, {}};
    d.properties.SetInt(PI::kSessionExpiryInterval, 10);
    d.properties.SetString(PI::kReasonString, "by");
    g.push_back({"disconnect_v5_properties", S, V::kV5,
        {0xE0, 0x0C, 0x04, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x0A, 0x1F, 0x00, 0x02, 'b', 'y'}, d,
        true});
  }
  {
    Disconnect d{RC::kUseAnotherServer, {}};
    d.properties.SetString(PI::kServerReference, "s");
    g.push_back({"disconnect_v5_from_server", C, V::kV5,
        {0xE0, 0x06, 0x9C, 0x04, 0x1C, 0x00, 0x01, 's'}, d, true});
  }
  g.push_back({"auth_v5_short", S, V::kV5, {0xF0, 0x00}, Auth{}, true});
  {
    Auth a{RC::kContinueAuthentication, {}};
    a.properties.SetString(PI::kAuthenticationMethod, "SCRAM");
    a.properties.SetBinary(PI::kAuthenticationData, kTwoBytes);
    g.push_back({"auth_v5_properties", C, V::kV5,
        {0xF0, 0x0F, 0x18, 0x0D, 0x15, 0x00, 0x05, 'S', 'C', 'R', 'A', 'M',
         0x16, 0x00, 0x02, 0x01, 0x02}, a, true});
  }
  // clang-format on
  return g;
}

}  // namespace

const std::vector<GoldenPacket>& GoldenPackets() {
  static const auto* golden = new std::vector<GoldenPacket>(Build());
  return *golden;
}

Decoder DecoderFor(Role role, ProtocolVersion version, PacketType type) {
  if (role == Role::kServer && type == PacketType::kConnect) return Decoder({.role = role});
  return Decoder({.role = role, .version = version});
}

}  // namespace telemq::mqtt::testing
