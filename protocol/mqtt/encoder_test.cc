// Encoder: round trips of every property, the PUBLISH header encoder, wire
// limits and 3.1.1 down-conversion.
#include "protocol/mqtt/encoder.h"

#include <string>

#include "gtest/gtest.h"
#include "protocol/mqtt/decoder.h"

namespace telemq::mqtt {
namespace {

using PI = PropertyId;
using V = ProtocolVersion;

std::span<const uint8_t> U(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::vector<uint8_t> EncodeToVector(const Packet& p, V v) {
  std::vector<uint8_t> out(EncodedSize(p, v));
  EXPECT_EQ(Encode(p, v, out), out.size());
  return out;
}

// Encodes, decodes with a decoder of `role`, and expects the same packet.
void ExpectRoundTrip(const Packet& p, V v, Role role) {
  const std::vector<uint8_t> bytes = EncodeToVector(p, v);
  ASSERT_FALSE(bytes.empty());
  Decoder d(TypeOf(p) == PacketType::kConnect ? DecoderOptions{.role = role}
                                              : DecoderOptions{.role = role, .version = v});
  Packet back;
  const DecodeResult r = d.Decode(bytes, &back);
  ASSERT_TRUE(r.ok()) << PacketTypeName(TypeOf(p)) << ": " << DecodeErrorName(r.error);
  EXPECT_EQ(r.consumed, bytes.size());
  EXPECT_TRUE(back == p) << PacketTypeName(TypeOf(p));
}

// A valid packet of `type` with no optional content.
Packet Minimal(PacketType type) {
  switch (type) {
    case PacketType::kConnect:
      return Connect{.client_id = "c"};
    case PacketType::kConnack:
      return Connack{};
    case PacketType::kPublish:
      return Publish{.topic = "t", .payload = U("p")};
    case PacketType::kPuback:
      return Puback{.packet_id = 1};
    case PacketType::kPubrec:
      return Pubrec{.packet_id = 1};
    case PacketType::kPubrel:
      return Pubrel{.packet_id = 1};
    case PacketType::kPubcomp:
      return Pubcomp{.packet_id = 1};
    case PacketType::kSubscribe: {
      Packet p(std::in_place_type<Subscribe>);
      auto& s = std::get<Subscribe>(p);
      s.packet_id = 1;
      s.subscriptions.push_back({"a/+", {}});
      return p;
    }
    case PacketType::kSuback: {
      Packet p(std::in_place_type<Suback>);
      auto& s = std::get<Suback>(p);
      s.packet_id = 1;
      s.reason_codes.push_back(ReasonCode::kGrantedQoS1);
      return p;
    }
    case PacketType::kUnsubscribe: {
      Packet p(std::in_place_type<Unsubscribe>);
      auto& u = std::get<Unsubscribe>(p);
      u.packet_id = 1;
      u.filters.push_back("a/#");
      return p;
    }
    case PacketType::kUnsuback: {
      Packet p(std::in_place_type<Unsuback>);
      auto& u = std::get<Unsuback>(p);
      u.packet_id = 1;
      u.reason_codes.push_back(ReasonCode::kSuccess);
      return p;
    }
    case PacketType::kPingreq:
      return Pingreq{};
    case PacketType::kPingresp:
      return Pingresp{};
    case PacketType::kDisconnect:
      return Disconnect{};
    case PacketType::kAuth:
      return Auth{};
  }
  return Pingreq{};
}

Properties* PropertiesOf(Packet& p) {
  return std::visit(
      [](auto& x) -> Properties* {
        if constexpr (requires { x.properties; }) return &x.properties;
        return nullptr;
      },
      p);
}

constexpr StringPair kPair[] = {{"name", "value"}};
constexpr uint32_t kSubIds[] = {5, 300000};
constexpr uint8_t kData[] = {0, 1, 0xFF};

void SetValid(Properties& props, const PropertyInfo& info) {
  switch (info.type) {
    case PropertyType::kByte:
      props.SetInt(info.id, 1);
      break;
    case PropertyType::kTwoByteInt:
      props.SetInt(info.id, 0xBEEF);
      break;
    case PropertyType::kFourByteInt:
      props.SetInt(info.id, 0xDEADBEEF);
      break;
    case PropertyType::kUtf8String:
      props.SetString(info.id, "resp/topic");
      break;
    case PropertyType::kBinary:
      props.SetBinary(info.id, kData);
      // Authentication Data needs an Authentication Method beside it.
      if (info.id == PI::kAuthenticationData) props.SetString(PI::kAuthenticationMethod, "m");
      break;
    case PropertyType::kVarInt:
      props.set_subscription_ids(kSubIds);
      break;
    case PropertyType::kStringPair:
      props.set_user_properties(kPair);
      break;
  }
}

TEST(EncoderTest, RoundTripsEveryPropertyInEveryPacketThatAllowsIt) {
  int checked = 0;
  for (int i = 0; i < kPropertyCount; ++i) {
    const PropertyInfo& info = AllProperties()[i];
    for (int t = 1; t <= 15; ++t) {
      const auto type = static_cast<PacketType>(t);
      if (!AllowedIn(info, PacketBit(type))) continue;
      Packet p = Minimal(type);
      Properties* props = PropertiesOf(p);
      ASSERT_NE(props, nullptr);
      SetValid(*props, info);
      if (info.id == PI::kSubscriptionIdentifier && type == PacketType::kSubscribe) {
        props->set_subscription_ids(std::span(kSubIds).first(1));
      }
      // Who sends it: a server sends subscription ids in PUBLISH; the client
      // side sends DISCONNECT here (a server never sends Session Expiry).
      const bool server_sends =
          type == PacketType::kConnack || type == PacketType::kSuback ||
          type == PacketType::kUnsuback ||
          (type == PacketType::kPublish && info.id == PI::kSubscriptionIdentifier);
      ExpectRoundTrip(p, V::kV5, server_sends ? Role::kClient : Role::kServer);
      ++checked;
    }
    if (AllowedIn(info, kWillPropertiesBit)) {
      Connect c{.client_id = "c"};
      c.will.emplace();
      c.will->topic = "will/t";
      c.will->payload = U("bye");
      SetValid(c.will->properties, info);
      ExpectRoundTrip(c, V::kV5, Role::kServer);
      ++checked;
    }
  }
  EXPECT_GT(checked, 50);
}

TEST(EncoderTest, RoundTripsEveryPacketTypeInBothVersions) {
  for (int t = 1; t <= 15; ++t) {
    const auto type = static_cast<PacketType>(t);
    const bool from_server = type == PacketType::kConnack || type == PacketType::kSuback ||
                             type == PacketType::kUnsuback || type == PacketType::kPingresp;
    for (V v : {V::kV311, V::kV5}) {
      if (type == PacketType::kAuth && v == V::kV311) continue;
      Packet p = Minimal(type);
      if (auto* c = std::get_if<Connect>(&p)) c->version = v;
      if (auto* u = std::get_if<Unsuback>(&p); u && v == V::kV311) u->reason_codes.clear();
      ExpectRoundTrip(p, v, from_server ? Role::kClient : Role::kServer);
    }
  }
}

TEST(EncoderTest, PublishHeaderIsThePacketWithoutItsPayload) {
  Publish p{.qos = QoS::kAtLeastOnce, .topic = "site1/building2/device3/temp", .packet_id = 9};
  const std::string payload(300, 'x');
  p.payload = U(payload);
  p.properties.SetInt(PI::kMessageExpiryInterval, 30);
  for (V v : {V::kV311, V::kV5}) {
    std::vector<uint8_t> full(EncodedSize(p, v));
    ASSERT_EQ(Encode(p, v, full), full.size());
    uint8_t header[kMaxPublishHeaderStackSize];
    const size_t h = EncodePublishHeader(p, v, header);
    ASSERT_EQ(h, PublishHeaderSize(p, v));
    ASSERT_EQ(h + payload.size(), full.size());
    EXPECT_TRUE(std::equal(header, header + h, full.begin()));
    EXPECT_EQ(EncodePublishHeader(p, v, std::span(header, h - 1)), 0u);
  }
}

TEST(EncoderTest, RemainingLengthBoundaries) {
  std::string payload;
  for (size_t body : {127u, 128u, 16383u, 16384u, 2097151u, 2097152u}) {
    payload.assign(body - 3, 'p');  // topic "t" takes 3 bytes
    const Publish p{.topic = "t", .payload = U(payload)};
    const size_t header = body < 128 ? 2 : body < 16384 ? 3 : body < 2097152 ? 4 : 5;
    EXPECT_EQ(EncodedSize(p, V::kV311), header + body);
    ExpectRoundTrip(p, V::kV311, Role::kServer);
  }
}

TEST(EncoderTest, RefusesStringsOver65535Bytes) {
  const std::string big(65536, 'a');
  std::vector<uint8_t> out(100000);
  const Publish p{.topic = big};
  EXPECT_EQ(EncodedSize(p, V::kV5), 0u);
  EXPECT_EQ(Encode(p, V::kV5, out), 0u);
  Publish q{.topic = "t"};
  q.properties.SetString(PI::kContentType, big);
  EXPECT_EQ(EncodedSize(q, V::kV5), 0u);
  EXPECT_EQ(EncodedSize(q, V::kV311), 5u);  // properties are dropped for 3.1.1
  EXPECT_EQ(EncodedSize(Connect{.client_id = big}, V::kV5), 0u);
}

TEST(EncoderTest, RefusesAuthInV311) { EXPECT_EQ(EncodedSize(Auth{}, V::kV311), 0u); }

TEST(EncoderTest, V311DropsReasonCodesAndProperties) {
  Puback a{.packet_id = 7, .reason_code = ReasonCode::kQuotaExceeded};
  a.properties.SetString(PI::kReasonString, "full");
  EXPECT_EQ(EncodeToVector(a, V::kV311), (std::vector<uint8_t>{0x40, 0x02, 0x00, 0x07}));
  Disconnect d{.reason_code = ReasonCode::kServerShuttingDown};
  EXPECT_EQ(EncodeToVector(d, V::kV311), (std::vector<uint8_t>{0xE0, 0x00}));
}

TEST(EncoderTest, V311MapsSubackFailuresTo0x80) {
  Suback s{.packet_id = 1};
  s.reason_codes = {ReasonCode::kGrantedQoS2, ReasonCode::kNotAuthorized};
  EXPECT_EQ(EncodeToVector(s, V::kV311),
            (std::vector<uint8_t>{0x90, 0x04, 0x00, 0x01, 0x02, 0x80}));
}

TEST(EncoderTest, V311MapsConnackReasonCodes) {
  EXPECT_EQ(
      EncodeToVector(Connack{.reason_code = ReasonCode::kUnsupportedProtocolVersion}, V::kV311),
      (std::vector<uint8_t>{0x20, 0x02, 0x00, 0x01}));
  EXPECT_EQ(EncodeToVector(Connack{.reason_code = ReasonCode::kBanned}, V::kV311),
            (std::vector<uint8_t>{0x20, 0x02, 0x00, 0x05}));
  EXPECT_EQ(EncodeToVector(Connack{.reason_code = ReasonCode::kQuotaExceeded}, V::kV311),
            (std::vector<uint8_t>{0x20, 0x02, 0x00, 0x03}));
}

TEST(EncoderTest, UsesV5ShortForms) {
  EXPECT_EQ(EncodeToVector(Pubrec{.packet_id = 2}, V::kV5),
            (std::vector<uint8_t>{0x50, 0x02, 0x00, 0x02}));
  EXPECT_EQ(
      EncodeToVector(Pubrec{.packet_id = 2, .reason_code = ReasonCode::kQuotaExceeded}, V::kV5),
      (std::vector<uint8_t>{0x50, 0x03, 0x00, 0x02, 0x97}));
  EXPECT_EQ(EncodeToVector(Auth{.reason_code = ReasonCode::kReAuthenticate}, V::kV5),
            (std::vector<uint8_t>{0xF0, 0x01, 0x19}));
}

TEST(EncoderTest, VariantAndPublishOverloadsAgree) {
  const Publish p{.qos = QoS::kExactlyOnce, .topic = "a/b", .packet_id = 3, .payload = U("x")};
  for (V v : {V::kV311, V::kV5}) {
    EXPECT_EQ(EncodeToVector(Packet(p), v), EncodeToVector(p, v));
  }
}

}  // namespace
}  // namespace telemq::mqtt
