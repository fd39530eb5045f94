// Decoder rules for CONNECT and CONNACK. One TEST per rule.
#include "gtest/gtest.h"
#include "protocol/mqtt/decoder.h"
#include "protocol/mqtt/decoder_test_util.h"

namespace telemq::mqtt {
namespace {

using namespace testing;  // NOLINT: helpers of this test only
using E = DecodeError;

// CONNECT with protocol `name`, `level`, `flags`, keep alive 0, then `tail`
// (properties for 5.0 and the payload).
std::vector<uint8_t> ConnectBytes(std::string_view name, uint8_t level, uint8_t flags,
                                  const std::vector<uint8_t>& tail) {
  std::vector<uint8_t> body;
  PutString(body, name);
  const uint8_t fixed[4] = {level, flags, 0, 0};
  Append(body, fixed, 4);
  Append(body, tail.data(), tail.size());
  return Packet1(0x10, body);
}

// Client id "c" for 3.1.1, preceded by an empty property block for 5.0.
const std::vector<uint8_t> kTail311{0x00, 0x01, 'c'};
const std::vector<uint8_t> kTail5{0x00, 0x00, 0x01, 'c'};

TEST(ConnectDecoderTest, AcceptsMinimalConnectInBothVersions) {
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 4, 0x02, kTail311)), E::kNone);
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 5, 0x02, kTail5)), E::kNone);
}

TEST(ConnectDecoderTest, AcceptsZeroLengthClientId) {
  Packet p;
  ASSERT_EQ(FirstPacket(ConnectBytes("MQTT", 4, 0x00, {0x00, 0x00}), &p), E::kNone);
  EXPECT_TRUE(std::get<Connect>(p).client_id.empty());
}

TEST(ConnectDecoderTest, RejectsWrongProtocolName) {
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTX", 4, 0x02, kTail311)), E::kInvalidProtocolName);
  EXPECT_EQ(FirstPacket(ConnectBytes("mqtt", 5, 0x02, kTail5)), E::kInvalidProtocolName);
}

TEST(ConnectDecoderTest, RejectsMqtt31AsUnsupportedProtocolVersion) {
  EXPECT_EQ(FirstPacket(ConnectBytes("MQIsdp", 3, 0x02, kTail311)), E::kUnsupportedProtocolVersion);
}

TEST(ConnectDecoderTest, RejectsUnknownProtocolLevel) {
  for (uint8_t level : {0, 3, 6, 255}) {
    EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", level, 0x02, kTail311)),
              E::kUnsupportedProtocolVersion)
        << int{level};
  }
  const DecodeErrorInfo& info = GetDecodeErrorInfo(E::kUnsupportedProtocolVersion);
  EXPECT_EQ(info.reason, ReasonCode::kUnsupportedProtocolVersion);
  EXPECT_EQ(info.v311, V311Reaction::kConnackUnacceptableProtocol);
  Decoder d({.role = Role::kServer});
  Packet p;
  const DecodeResult r = d.Decode(ConnectBytes("MQTT", 3, 0x02, kTail311), &p);
  EXPECT_EQ(r.reason(), ReasonCode::kUnsupportedProtocolVersion);
  EXPECT_EQ(r.v311_reaction(), V311Reaction::kConnackUnacceptableProtocol);
}

TEST(ConnectDecoderTest, UnsupportedVersionIsReportedBeforeTheRestIsParsed) {
  // Level 6 with a body this decoder could not parse: still "unsupported".
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 6, 0xFF, {0x01})), E::kUnsupportedProtocolVersion);
}

TEST(ConnectDecoderTest, RejectsReservedConnectFlag) {
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 4, 0x03, kTail311)), E::kConnectReservedFlag);
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 5, 0x01, kTail5)), E::kConnectReservedFlag);
}

TEST(ConnectDecoderTest, RejectsWillQoSWithoutWillFlag) {
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 4, 0x08, kTail311)), E::kWillFlagsWithoutWill);
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 5, 0x10, kTail5)), E::kWillFlagsWithoutWill);
}

TEST(ConnectDecoderTest, RejectsWillRetainWithoutWillFlag) {
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 4, 0x20, kTail311)), E::kWillFlagsWithoutWill);
}

TEST(ConnectDecoderTest, RejectsWillQoS3) {
  const std::vector<uint8_t> will{0x00, 0x01, 'c', 0x00, 0x01, 't', 0x00, 0x00};
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 4, 0x1C, will)), E::kWillQoS3);
}

TEST(ConnectDecoderTest, RejectsPasswordWithoutUserNameInV311Only) {
  const std::vector<uint8_t> pw311{0x00, 0x01, 'c', 0x00, 0x01, 'p'};
  const std::vector<uint8_t> pw5{0x00, 0x00, 0x01, 'c', 0x00, 0x01, 'p'};
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 4, 0x40, pw311)), E::kPasswordWithoutUsername);
  Packet p;
  ASSERT_EQ(FirstPacket(ConnectBytes("MQTT", 5, 0x40, pw5), &p), E::kNone);
  const Connect& c = std::get<Connect>(p);
  EXPECT_FALSE(c.username.has_value());
  EXPECT_TRUE(c.password.has_value());
}

TEST(ConnectDecoderTest, RejectsInvalidUtf8ClientId) {
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 4, 0x02, {0x00, 0x02, 0xC3, 0x28})), E::kInvalidUtf8);
}

TEST(ConnectDecoderTest, RejectsInvalidUtf8UserName) {
  const std::vector<uint8_t> tail{0x00, 0x01, 'c', 0x00, 0x01, 0x00};
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 4, 0x80, tail)), E::kInvalidUtf8);
}

TEST(ConnectDecoderTest, RejectsWildcardOrEmptyWillTopic) {
  const std::vector<uint8_t> wild{0x00, 0x01, 'c', 0x00, 0x01, '#', 0x00, 0x00};
  const std::vector<uint8_t> empty{0x00, 0x01, 'c', 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 4, 0x04, wild)), E::kInvalidWillTopic);
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 4, 0x04, empty)), E::kInvalidWillTopic);
}

TEST(ConnectDecoderTest, RejectsTruncatedPayload) {
  // User name flag set but no user name.
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 4, 0x80, kTail311)), E::kFieldOverrun);
  // Will flag set but no will topic.
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 4, 0x04, kTail311)), E::kFieldOverrun);
}

TEST(ConnectDecoderTest, RejectsTrailingBytes) {
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 4, 0x02, {0x00, 0x01, 'c', 0x00})), E::kTrailingBytes);
}

TEST(ConnectDecoderTest, RejectsPropertyNotAllowedInConnect) {
  // Topic Alias (0x23) belongs to PUBLISH.
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 5, 0x02, {0x03, 0x23, 0x00, 0x01, 0x00, 0x01, 'c'})),
            E::kPropertyNotAllowed);
}

TEST(ConnectDecoderTest, RejectsPropertyNotAllowedInWillProperties) {
  // Session Expiry Interval (0x11) is a CONNECT property, not a Will one.
  const std::vector<uint8_t> tail{0x00, 0x00, 0x01, 'c',  0x05, 0x11, 0x00, 0x00,
                                  0x00, 0x01, 0x00, 0x01, 't',  0x00, 0x00};
  EXPECT_EQ(FirstPacket(ConnectBytes("MQTT", 5, 0x04, tail)), E::kPropertyNotAllowed);
}

TEST(ConnectDecoderTest, FailedConnectDoesNotSetVersion) {
  Decoder d({.role = Role::kServer});
  Packet p;
  const std::vector<uint8_t> b = ConnectBytes("MQTT", 4, 0x01, kTail311);
  EXPECT_EQ(d.Decode(b, &p).error, E::kConnectReservedFlag);
  EXPECT_FALSE(d.version().has_value());
  EXPECT_FALSE(d.connect_received());
}

// ---- CONNACK (client role) ----

TEST(ConnackDecoderTest, RejectsReservedAcknowledgeFlags) {
  EXPECT_EQ(FromServer(kV311, {0x20, 0x02, 0x02, 0x00}), E::kConnackReservedFlags);
  EXPECT_EQ(FromServer(kV5, {0x20, 0x03, 0x80, 0x00, 0x00}), E::kConnackReservedFlags);
}

TEST(ConnackDecoderTest, RejectsReservedV311ReturnCode) {
  EXPECT_EQ(FromServer(kV311, {0x20, 0x02, 0x00, 0x06}), E::kInvalidReasonCode);
}

TEST(ConnackDecoderTest, RejectsReasonCodeNotAllowedInConnack) {
  EXPECT_EQ(FromServer(kV5, {0x20, 0x03, 0x00, 0x8E, 0x00}), E::kInvalidReasonCode);
}

TEST(ConnackDecoderTest, RejectsSessionPresentWithFailure) {
  EXPECT_EQ(FromServer(kV311, {0x20, 0x02, 0x01, 0x05}), E::kSessionPresentWithError);
  EXPECT_EQ(FromServer(kV5, {0x20, 0x03, 0x01, 0x87, 0x00}), E::kSessionPresentWithError);
}

TEST(ConnackDecoderTest, RejectsMissingPropertyLengthInV5) {
  EXPECT_EQ(FromServer(kV5, {0x20, 0x02, 0x00, 0x00}), E::kFieldOverrun);
}

TEST(ConnackDecoderTest, RejectsTrailingBytes) {
  EXPECT_EQ(FromServer(kV311, {0x20, 0x03, 0x00, 0x00, 0x00}), E::kTrailingBytes);
}

TEST(ConnackDecoderTest, MapsV311ReturnCodesToReasonCodes) {
  Packet p;
  ASSERT_EQ(FromServer(kV311, {0x20, 0x02, 0x00, 0x01}, &p), E::kNone);
  EXPECT_EQ(std::get<Connack>(p).reason_code, ReasonCode::kUnsupportedProtocolVersion);
  for (int rc = 0; rc <= 5; ++rc) {
    const auto code = static_cast<ConnackReturnCode>(rc);
    EXPECT_EQ(ToConnackReturnCode(FromConnackReturnCode(code)), code);
  }
}

}  // namespace
}  // namespace telemq::mqtt
