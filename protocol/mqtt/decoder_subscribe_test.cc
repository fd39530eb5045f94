// Decoder rules for SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK. One TEST per rule.
#include "gtest/gtest.h"
#include "protocol/mqtt/decoder.h"
#include "protocol/mqtt/decoder_test_util.h"

namespace telemq::mqtt {
namespace {

using namespace testing;  // NOLINT: helpers of this test only
using E = DecodeError;

// SUBSCRIBE id 1 with one filter and options byte (5.0: empty properties).
std::vector<uint8_t> Sub(ProtocolVersion v, std::string_view filter, uint8_t opts) {
  std::vector<uint8_t> body{0x00, 0x01};
  if (v == kV5) AppendByte(body, 0x00);
  PutString(body, filter);
  AppendByte(body, opts);
  return Packet1(0x82, body);
}

std::vector<uint8_t> Unsub(ProtocolVersion v, std::string_view filter) {
  std::vector<uint8_t> body{0x00, 0x01};
  if (v == kV5) AppendByte(body, 0x00);
  PutString(body, filter);
  return Packet1(0xA2, body);
}

TEST(SubscribeDecoderTest, RejectsEmptySubscribe) {
  EXPECT_EQ(FromClient(kV311, {0x82, 0x02, 0x00, 0x01}), E::kEmptySubscribe);
  EXPECT_EQ(FromClient(kV5, {0x82, 0x03, 0x00, 0x01, 0x00}), E::kEmptySubscribe);
}

TEST(SubscribeDecoderTest, RejectsZeroPacketId) {
  EXPECT_EQ(FromClient(kV311, {0x82, 0x06, 0x00, 0x00, 0x00, 0x01, 'a', 0x00}), E::kZeroPacketId);
}

TEST(SubscribeDecoderTest, RejectsInvalidTopicFilters) {
  for (std::string_view f : {"", "a/#/b", "a+", "a#", "#/", "+a/b", "$share/g", "$share//a",
                             "$share/g/", "$share/g+/a"}) {
    EXPECT_EQ(FromClient(kV311, Sub(kV311, f, 0)), E::kInvalidTopicFilter) << f;
    EXPECT_EQ(FromClient(kV5, Sub(kV5, f, 0)), E::kInvalidTopicFilter) << f;
  }
}

TEST(SubscribeDecoderTest, RejectsInvalidUtf8Filter) {
  EXPECT_EQ(FromClient(kV311, Sub(kV311, "a\xFF", 0)), E::kInvalidUtf8);
}

TEST(SubscribeDecoderTest, RejectsSubscriptionQoS3) {
  EXPECT_EQ(FromClient(kV311, Sub(kV311, "a", 0x03)), E::kSubscriptionQoS3);
  EXPECT_EQ(FromClient(kV5, Sub(kV5, "a", 0x03)), E::kSubscriptionQoS3);
}

TEST(SubscribeDecoderTest, RejectsReservedSubscriptionOptionBits) {
  // 3.1.1: bits 7-2 reserved (so 5.0 options are invalid there); 5.0: bits 7-6.
  EXPECT_EQ(FromClient(kV311, Sub(kV311, "a", 0x04)), E::kReservedSubscriptionOptions);
  EXPECT_EQ(FromClient(kV5, Sub(kV5, "a", 0x40)), E::kReservedSubscriptionOptions);
  EXPECT_EQ(FromClient(kV5, Sub(kV5, "a", 0x81)), E::kReservedSubscriptionOptions);
}

TEST(SubscribeDecoderTest, RejectsRetainHandling3) {
  EXPECT_EQ(FromClient(kV5, Sub(kV5, "a", 0x30)), E::kRetainHandling3);
}

TEST(SubscribeDecoderTest, RejectsNoLocalOnSharedSubscription) {
  EXPECT_EQ(FromClient(kV5, Sub(kV5, "$share/g/a", 0x04)), E::kNoLocalOnSharedSubscription);
  EXPECT_EQ(FromClient(kV5, Sub(kV5, "$share/g/a", 0x00)), E::kNone);
}

TEST(SubscribeDecoderTest, RejectsMissingOptionsByte) {
  EXPECT_EQ(FromClient(kV311, {0x82, 0x05, 0x00, 0x01, 0x00, 0x01, 'a'}), E::kFieldOverrun);
}

TEST(SubscribeDecoderTest, RejectsRepeatedSubscriptionIdentifier) {
  EXPECT_EQ(FromClient(
                kV5, {0x82, 0x0B, 0x00, 0x01, 0x04, 0x0B, 0x01, 0x0B, 0x02, 0x00, 0x01, 'a', 0x00}),
            E::kDuplicateProperty);
}

TEST(SubscribeDecoderTest, RejectsSubscriptionIdentifierZero) {
  EXPECT_EQ(FromClient(kV5, {0x82, 0x09, 0x00, 0x01, 0x02, 0x0B, 0x00, 0x00, 0x01, 'a', 0x00}),
            E::kSubscriptionIdZero);
}

TEST(SubscribeDecoderTest, DecodesSeveralSubscriptionsBeyondInlineCapacity) {
  std::vector<uint8_t> body{0x00, 0x01};
  for (char c = 'a'; c <= 'j'; ++c) {
    PutString(body, std::string_view(&c, 1));
    AppendByte(body, 0x01);
  }
  const std::vector<uint8_t> b = Packet1(0x82, body);
  Packet p;
  ASSERT_EQ(FromClient(kV311, b, &p), E::kNone);
  EXPECT_EQ(std::get<Subscribe>(p).subscriptions.size(), 10u);
}

TEST(UnsubscribeDecoderTest, RejectsEmptyUnsubscribe) {
  EXPECT_EQ(FromClient(kV311, {0xA2, 0x02, 0x00, 0x01}), E::kEmptyUnsubscribe);
  EXPECT_EQ(FromClient(kV5, {0xA2, 0x03, 0x00, 0x01, 0x00}), E::kEmptyUnsubscribe);
}

TEST(UnsubscribeDecoderTest, RejectsInvalidTopicFilter) {
  EXPECT_EQ(FromClient(kV311, Unsub(kV311, "a/#/b")), E::kInvalidTopicFilter);
  EXPECT_EQ(FromClient(kV5, Unsub(kV5, "")), E::kInvalidTopicFilter);
}

TEST(UnsubscribeDecoderTest, RejectsZeroPacketId) {
  EXPECT_EQ(FromClient(kV311, {0xA2, 0x05, 0x00, 0x00, 0x00, 0x01, 'a'}), E::kZeroPacketId);
}

TEST(UnsubscribeDecoderTest, RejectsFilterRunningPastRemainingLength) {
  EXPECT_EQ(FromClient(kV311, {0xA2, 0x05, 0x00, 0x01, 0x00, 0x03, 'a'}), E::kFieldOverrun);
}

TEST(SubackDecoderTest, RejectsEmptyReasonCodeList) {
  EXPECT_EQ(FromServer(kV311, {0x90, 0x02, 0x00, 0x01}), E::kEmptyAckPayload);
  EXPECT_EQ(FromServer(kV5, {0x90, 0x03, 0x00, 0x01, 0x00}), E::kEmptyAckPayload);
}

TEST(SubackDecoderTest, RejectsInvalidReturnCodes) {
  EXPECT_EQ(FromServer(kV311, {0x90, 0x03, 0x00, 0x01, 0x03}), E::kInvalidReasonCode);
  EXPECT_EQ(FromServer(kV311, {0x90, 0x03, 0x00, 0x01, 0x87}), E::kInvalidReasonCode);
  EXPECT_EQ(FromServer(kV5, {0x90, 0x04, 0x00, 0x01, 0x00, 0x11}), E::kInvalidReasonCode);
}

TEST(UnsubackDecoderTest, RejectsEmptyReasonCodeListInV5) {
  EXPECT_EQ(FromServer(kV5, {0xB0, 0x03, 0x00, 0x01, 0x00}), E::kEmptyAckPayload);
}

TEST(UnsubackDecoderTest, RejectsPayloadInV311) {
  EXPECT_EQ(FromServer(kV311, {0xB0, 0x03, 0x00, 0x01, 0x00}), E::kTrailingBytes);
}

TEST(UnsubackDecoderTest, RejectsReasonCodeNotAllowed) {
  EXPECT_EQ(FromServer(kV5, {0xB0, 0x04, 0x00, 0x01, 0x00, 0x10}), E::kInvalidReasonCode);
}

}  // namespace
}  // namespace telemq::mqtt
