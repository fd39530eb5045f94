// Decoder rules visible in the fixed header, plus PUBLISH and its acks.
// One TEST per rule, named after it.
#include "protocol/mqtt/decoder.h"

#include "gtest/gtest.h"
#include "protocol/mqtt/decoder_test_util.h"

namespace telemq::mqtt {
namespace {

using namespace testing;  // NOLINT: helpers of this test only
using E = DecodeError;

// ---- Fixed header: reported from the first bytes, before the body. ----

TEST(DecoderTest, RejectsReservedPacketType0) {
  EXPECT_EQ(FromClient(kV5, {0x00}), E::kReservedPacketType);
}

TEST(DecoderTest, RequiresConnectAsFirstPacket) {
  EXPECT_EQ(FirstPacket({0x30}), E::kFirstPacketNotConnect);
  EXPECT_EQ(FirstPacket({0xC0, 0x00}), E::kFirstPacketNotConnect);
}

TEST(DecoderTest, RejectsSecondConnect) { EXPECT_EQ(FromClient(kV311, {0x10}), E::kSecondConnect); }

TEST(DecoderTest, AdoptsVersionOfFirstConnect) {
  Decoder d({.role = Role::kServer});
  const std::vector<uint8_t> connect{0x10, 0x0D, 0x00, 0x04, 'M',  'Q',  'T', 'T',
                                     0x04, 0x02, 0x00, 0x00, 0x00, 0x01, 'c'};
  Packet p;
  ASSERT_TRUE(d.Decode(connect, &p).ok());
  EXPECT_EQ(d.version(), ProtocolVersion::kV311);
  EXPECT_TRUE(d.connect_received());
  EXPECT_EQ(d.Decode(connect, &p).error, E::kSecondConnect);
}

TEST(DecoderTest, RejectsServerOnlyPacketsFromClient) {
  for (uint8_t first : {0x20, 0x90, 0xB0, 0xD0}) {  // CONNACK SUBACK UNSUBACK PINGRESP
    EXPECT_EQ(FromClient(kV5, {first}), E::kUnexpectedPacketType) << int{first};
  }
}

TEST(DecoderTest, RejectsClientOnlyPacketsFromServer) {
  for (uint8_t first : {0x10, 0x82, 0xA2, 0xC0}) {  // CONNECT SUBSCRIBE UNSUBSCRIBE PINGREQ
    EXPECT_EQ(FromServer(kV5, {first}), E::kUnexpectedPacketType) << int{first};
  }
}

TEST(DecoderTest, RejectsDisconnectFromServerInV311) {
  EXPECT_EQ(FromServer(kV311, {0xE0, 0x00}), E::kUnexpectedPacketType);
  EXPECT_EQ(FromServer(kV5, {0xE0, 0x00}), E::kNone);
}

TEST(DecoderTest, RejectsAuthInV311) {
  EXPECT_EQ(FromClient(kV311, {0xF0}), E::kAuthInV311);
  EXPECT_EQ(FromServer(kV311, {0xF0}), E::kAuthInV311);
}

TEST(DecoderTest, ClientRoleRequiresProtocolVersion) {
  EXPECT_EQ(DecodeWith(Role::kClient, std::nullopt, {0x20, 0x02, 0x00, 0x00}),
            E::kNoProtocolVersion);
}

TEST(DecoderTest, RejectsReservedFlagBits) {
  // PUBREL, SUBSCRIBE, UNSUBSCRIBE need 0010; every other type 0000.
  for (uint8_t first : {0x60, 0x63, 0x80, 0x8A, 0xA0, 0xA3, 0x41, 0x52, 0x71, 0xC1, 0xE2, 0xF8}) {
    EXPECT_EQ(FromClient(kV5, {first}), E::kInvalidFixedHeaderFlags) << int{first};
  }
  EXPECT_EQ(FromServer(kV5, {0x21}), E::kInvalidFixedHeaderFlags);
  EXPECT_EQ(FromServer(kV5, {0x94}), E::kInvalidFixedHeaderFlags);
  EXPECT_EQ(FromServer(kV5, {0xB8}), E::kInvalidFixedHeaderFlags);
  EXPECT_EQ(FromServer(kV5, {0xD2}), E::kInvalidFixedHeaderFlags);
  EXPECT_EQ(FirstPacket({0x11}), E::kInvalidFixedHeaderFlags);
}

TEST(DecoderTest, RejectsPublishQoS3) {
  EXPECT_EQ(FromClient(kV311, {0x36}), E::kPublishQoS3);
  EXPECT_EQ(FromClient(kV5, {0x3F}), E::kPublishQoS3);
}

TEST(DecoderTest, RejectsPublishDupWithQoS0) {
  EXPECT_EQ(FromClient(kV311, {0x38}), E::kPublishDupWithQoS0);
  EXPECT_EQ(FromClient(kV5, {0x39}), E::kPublishDupWithQoS0);
}

TEST(DecoderTest, RejectsRemainingLengthOver4Bytes) {
  EXPECT_EQ(FromClient(kV5, {0x30, 0xFF, 0xFF, 0xFF, 0xFF}), E::kRemainingLengthTooLong);
  EXPECT_EQ(FromClient(kV5, {0x30, 0xFF, 0xFF, 0xFF, 0x80}), E::kRemainingLengthTooLong);
}

TEST(DecoderTest, RejectsNonMinimalRemainingLength) {
  EXPECT_EQ(FromClient(kV5, {0xC0, 0x80, 0x00}), E::kNonMinimalVarInt);
  EXPECT_EQ(FromClient(kV311, {0x30, 0x85, 0x80, 0x00}), E::kNonMinimalVarInt);
}

TEST(DecoderTest, RejectsPacketOverMaxSizeFromFixedHeaderAlone) {
  Decoder d({.role = Role::kServer, .version = kV5, .max_packet_size = 1024});
  Packet p;
  // 268435455 announced; only 5 bytes present: rejected without buffering.
  const std::vector<uint8_t> huge{0x30, 0xFF, 0xFF, 0xFF, 0x7F};
  DecodeResult r = d.Decode(huge, &p);
  EXPECT_EQ(r.error, E::kPacketTooLarge);
  EXPECT_EQ(r.reason(), ReasonCode::kPacketTooLarge);
  // 1021 + 3 header bytes = 1024 fits; 1022 does not.
  EXPECT_EQ(d.Decode(std::vector<uint8_t>{0x30, 0xFD, 0x07}, &p).status, DecodeStatus::kNeedMore);
  EXPECT_EQ(d.Decode(std::vector<uint8_t>{0x30, 0xFE, 0x07}, &p).error, E::kPacketTooLarge);
}

TEST(DecoderTest, ReportsNeededSizeOnceFixedHeaderIsComplete) {
  Decoder d({.role = Role::kServer, .version = kV5});
  Packet p;
  EXPECT_EQ(d.Decode(std::vector<uint8_t>{0x30}, &p).needed, 0u);
  EXPECT_EQ(d.Decode(std::vector<uint8_t>{0x30, 0x80}, &p).needed, 0u);
  const DecodeResult r = d.Decode(std::vector<uint8_t>{0x30, 0x80, 0x01}, &p);
  EXPECT_EQ(r.status, DecodeStatus::kNeedMore);
  EXPECT_EQ(r.needed, 131u);
}

TEST(DecoderTest, RejectsPingWithBody) {
  EXPECT_EQ(FromClient(kV5, {0xC0, 0x01}), E::kUnexpectedBody);
  EXPECT_EQ(FromServer(kV311, {0xD0, 0x01}), E::kUnexpectedBody);
}

TEST(DecoderTest, RejectsDisconnectWithPayloadInV311) {
  EXPECT_EQ(FromClient(kV311, {0xE0, 0x01}), E::kUnexpectedBody);
}

// ---- PUBLISH ----

TEST(DecoderTest, RejectsWildcardInPublishTopic) {
  EXPECT_EQ(FromClient(kV311, {0x30, 0x05, 0x00, 0x03, 'a', '/', '+'}), E::kWildcardInTopicName);
  EXPECT_EQ(FromClient(kV5, {0x30, 0x06, 0x00, 0x03, 'a', '#', 'b', 0x00}),
            E::kWildcardInTopicName);
  Decoder d({.role = Role::kServer, .version = kV5});
  EXPECT_EQ(GetDecodeErrorInfo(E::kWildcardInTopicName).reason, ReasonCode::kTopicNameInvalid);
}

TEST(DecoderTest, RejectsInvalidUtf8InPublishTopic) {
  EXPECT_EQ(FromClient(kV311, {0x30, 0x04, 0x00, 0x02, 0xC0, 0x80}), E::kInvalidUtf8);
  EXPECT_EQ(FromClient(kV311, {0x30, 0x04, 0x00, 0x02, 'a', 0x00}), E::kInvalidUtf8);
  EXPECT_EQ(FromClient(kV5, {0x30, 0x06, 0x00, 0x03, 0xED, 0xA0, 0x80, 0x00}), E::kInvalidUtf8);
}

TEST(DecoderTest, RejectsEmptyPublishTopicInV311) {
  EXPECT_EQ(FromClient(kV311, {0x30, 0x03, 0x00, 0x00, 'x'}), E::kEmptyTopicName);
}

TEST(DecoderTest, RejectsEmptyPublishTopicWithoutTopicAliasInV5) {
  EXPECT_EQ(FromClient(kV5, {0x30, 0x03, 0x00, 0x00, 0x00}), E::kEmptyTopicName);
  EXPECT_EQ(FromClient(kV5, {0x30, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01}), E::kNone);
}

TEST(DecoderTest, RejectsZeroPacketIdInQoS1Publish) {
  EXPECT_EQ(FromClient(kV311, {0x32, 0x05, 0x00, 0x01, 't', 0x00, 0x00}), E::kZeroPacketId);
  EXPECT_EQ(FromClient(kV5, {0x34, 0x06, 0x00, 0x01, 't', 0x00, 0x00, 0x00}), E::kZeroPacketId);
}

TEST(DecoderTest, RejectsPublishTruncatedBeforePacketId) {
  EXPECT_EQ(FromClient(kV311, {0x32, 0x04, 0x00, 0x01, 't', 0x00}), E::kFieldOverrun);
}

TEST(DecoderTest, RejectsPublishTopicRunningPastRemainingLength) {
  EXPECT_EQ(FromClient(kV311, {0x30, 0x03, 0x00, 0x05, 'a'}), E::kFieldOverrun);
}

TEST(DecoderTest, RejectsSubscriptionIdentifierInClientPublish) {
  const std::vector<uint8_t> b{0x30, 0x06, 0x00, 0x01, 't', 0x02, 0x0B, 0x01};
  EXPECT_EQ(FromClient(kV5, b), E::kSubscriptionIdFromClient);
  EXPECT_EQ(FromServer(kV5, b), E::kNone);
}

TEST(DecoderTest, AcceptsZeroLengthPayload) {
  Packet p;
  ASSERT_EQ(FromClient(kV311, {0x30, 0x03, 0x00, 0x01, 't'}, &p), E::kNone);
  EXPECT_TRUE(std::get<Publish>(p).payload.empty());
}

TEST(DecoderTest, PublishViewsPointIntoInputBuffer) {
  const std::vector<uint8_t> b{0x30, 0x05, 0x00, 0x01, 't', 'h', 'i'};
  Packet p;
  ASSERT_EQ(FromClient(kV311, b, &p), E::kNone);
  const Publish& pub = std::get<Publish>(p);
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(pub.topic.data()), b.data() + 4);
  EXPECT_EQ(pub.payload.data(), b.data() + 5);
}

// ---- PUBACK, PUBREC, PUBREL, PUBCOMP ----

TEST(DecoderTest, RejectsZeroPacketIdInAcks) {
  EXPECT_EQ(FromClient(kV311, {0x40, 0x02, 0x00, 0x00}), E::kZeroPacketId);
  EXPECT_EQ(FromClient(kV5, {0x50, 0x02, 0x00, 0x00}), E::kZeroPacketId);
  EXPECT_EQ(FromServer(kV5, {0x62, 0x02, 0x00, 0x00}), E::kZeroPacketId);
  EXPECT_EQ(FromServer(kV311, {0x70, 0x02, 0x00, 0x00}), E::kZeroPacketId);
}

TEST(DecoderTest, RejectsTrailingBytesInV311Ack) {
  EXPECT_EQ(FromClient(kV311, {0x40, 0x03, 0x00, 0x01, 0x00}), E::kTrailingBytes);
}

TEST(DecoderTest, RejectsTruncatedAck) {
  EXPECT_EQ(FromClient(kV311, {0x40, 0x01, 0x00}), E::kFieldOverrun);
}

TEST(DecoderTest, RejectsReasonCodeNotAllowedInAck) {
  EXPECT_EQ(FromClient(kV5, {0x40, 0x03, 0x00, 0x01, 0x92}), E::kInvalidReasonCode);
  EXPECT_EQ(FromClient(kV5, {0x62, 0x03, 0x00, 0x01, 0x10}), E::kInvalidReasonCode);
  EXPECT_EQ(FromClient(kV5, {0x40, 0x03, 0x00, 0x01, 0x05}), E::kInvalidReasonCode);
}

TEST(DecoderTest, RejectsTrailingBytesAfterAckProperties) {
  EXPECT_EQ(FromClient(kV5, {0x40, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00}), E::kTrailingBytes);
}

TEST(DecoderTest, V5AckShortFormsMeanSuccess) {
  Packet p;
  ASSERT_EQ(FromClient(kV5, {0x40, 0x02, 0x00, 0x07}, &p), E::kNone);
  EXPECT_EQ(std::get<Puback>(p).reason_code, ReasonCode::kSuccess);
  ASSERT_EQ(FromClient(kV5, {0xE0, 0x00}, &p), E::kNone);
  EXPECT_EQ(std::get<Disconnect>(p).reason_code, ReasonCode::kNormalDisconnection);
}

// ---- DISCONNECT, AUTH ----

TEST(DecoderTest, RejectsReasonCodeNotAllowedInDisconnect) {
  EXPECT_EQ(FromClient(kV5, {0xE0, 0x01, 0x85}), E::kInvalidReasonCode);
}

TEST(DecoderTest, RejectsSessionExpiryInDisconnectFromServer) {
  const std::vector<uint8_t> b{0xE0, 0x07, 0x00, 0x05, 0x11, 0x00, 0x00, 0x00, 0x01};
  EXPECT_EQ(FromServer(kV5, b), E::kPropertyNotAllowed);
  EXPECT_EQ(FromClient(kV5, b), E::kNone);
}

TEST(DecoderTest, RejectsReasonCodeNotAllowedInAuth) {
  EXPECT_EQ(FromClient(kV5, {0xF0, 0x01, 0x80}), E::kInvalidReasonCode);
}

// ---- Payload Format Indicator ----

TEST(DecoderTest, ChecksPayloadFormatIndicatorAgainstPayload) {
  // The packet keeps views into its bytes: keep them alive while checking.
  const std::vector<uint8_t> bad{0x30, 0x07, 0x00, 0x01, 't', 0x02, 0x01, 0x01, 0xFF};
  const std::vector<uint8_t> good{0x30, 0x07, 0x00, 0x01, 't', 0x02, 0x01, 0x01, 'o'};
  Packet p;
  ASSERT_EQ(FromClient(kV5, bad, &p), E::kNone);
  EXPECT_EQ(CheckPayloadFormat(std::get<Publish>(p)), E::kPayloadFormatInvalid);
  EXPECT_EQ(GetDecodeErrorInfo(E::kPayloadFormatInvalid).reason, ReasonCode::kPayloadFormatInvalid);
  ASSERT_EQ(FromClient(kV5, good, &p), E::kNone);
  EXPECT_EQ(CheckPayloadFormat(std::get<Publish>(p)), E::kNone);
}

TEST(DecodeErrorTest, EveryErrorHasANameAndReason) {
  for (int i = 1; i < static_cast<int>(E::kCount); ++i) {
    const DecodeErrorInfo& info = GetDecodeErrorInfo(static_cast<E>(i));
    EXPECT_FALSE(info.name.empty()) << i;
    EXPECT_GE(static_cast<int>(info.reason), 0x80) << info.name;
  }
  EXPECT_EQ(GetDecodeErrorInfo(E::kUnsupportedProtocolVersion).v311,
            V311Reaction::kConnackUnacceptableProtocol);
}

}  // namespace
}  // namespace telemq::mqtt
