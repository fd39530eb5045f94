// Property table, the Properties value type and property validation rules.
#include "protocol/mqtt/properties.h"

#include <set>

#include "gtest/gtest.h"
#include "protocol/mqtt/decoder_test_util.h"
#include "protocol/mqtt/property_id.h"

namespace telemq::mqtt {
namespace {

using namespace testing;  // NOLINT: helpers of this test only
using E = DecodeError;
using PI = PropertyId;

// A 5.0 PUBLISH "t" from a client with the given property block content.
std::vector<uint8_t> PublishWith(const std::vector<uint8_t>& props) {
  std::vector<uint8_t> body{0x00, 0x01, 't', static_cast<uint8_t>(props.size())};
  Append(body, props.data(), props.size());
  return Packet1(0x30, body);
}

// A 5.0 CONNACK with the given property block content.
std::vector<uint8_t> ConnackWith(const std::vector<uint8_t>& props) {
  std::vector<uint8_t> body{0x00, 0x00, static_cast<uint8_t>(props.size())};
  Append(body, props.data(), props.size());
  return Packet1(0x20, body);
}

TEST(PropertyTableTest, HasAll27PropertiesWithDistinctSlots) {
  std::set<std::pair<bool, int>> slots;
  int repeatable = 0;
  for (int i = 0; i < kPropertyCount; ++i) {
    const PropertyInfo& info = AllProperties()[i];
    EXPECT_EQ(FindPropertyInfo(static_cast<uint8_t>(info.id)), &info);
    EXPECT_FALSE(info.name.empty());
    if (info.slot == kNoSlot) {
      ++repeatable;
      continue;
    }
    const bool is_int = info.type == PropertyType::kByte ||
                        info.type == PropertyType::kTwoByteInt ||
                        info.type == PropertyType::kFourByteInt;
    EXPECT_LT(info.slot, is_int ? kIntSlots : kStringSlots);
    EXPECT_TRUE(slots.insert({is_int, info.slot}).second) << info.name;
  }
  EXPECT_EQ(repeatable, 2);
  EXPECT_EQ(FindPropertyInfo(0x00), nullptr);
  EXPECT_EQ(FindPropertyInfo(0x04), nullptr);
  EXPECT_EQ(FindPropertyInfo(0x2B), nullptr);
  EXPECT_EQ(FindPropertyInfo(0xFF), nullptr);
}

TEST(PropertiesTest, SettersAndGetters) {
  Properties p;
  EXPECT_TRUE(p.empty());
  EXPECT_FALSE(p.Has(PI::kTopicAlias));
  EXPECT_EQ(p.GetInt(PI::kTopicAlias), 0u);
  p.SetInt(PI::kTopicAlias, 7);
  p.SetString(PI::kReasonString, "why");
  const uint8_t data[] = {1, 2, 3};
  p.SetBinary(PI::kCorrelationData, data);
  EXPECT_FALSE(p.empty());
  EXPECT_EQ(p.GetInt(PI::kTopicAlias), 7u);
  EXPECT_EQ(p.GetString(PI::kReasonString), "why");
  EXPECT_EQ(p.GetBinary(PI::kCorrelationData).size(), 3u);
  p.Clear(PI::kTopicAlias);
  EXPECT_FALSE(p.Has(PI::kTopicAlias));
}

TEST(PropertiesTest, RepeatablePropertiesFromCallerArrays) {
  const StringPair pairs[] = {{"a", "1"}, {"b", "2"}};
  const uint32_t ids[] = {3, 4, 5};
  Properties p;
  p.set_user_properties(pairs);
  p.set_subscription_ids(ids);
  EXPECT_TRUE(p.Has(PI::kUserProperty));
  EXPECT_EQ(p.user_properties().size(), 2u);
  EXPECT_EQ(p.subscription_ids().size(), 3u);
  EXPECT_EQ(*p.subscription_ids().begin(), 3u);
}

TEST(PropertiesTest, DecodedUserPropertiesIterateInOrderAndForward) {
  const std::vector<uint8_t> b = PublishWith({0x26, 0x00, 0x01, 'a', 0x00, 0x01, '1', 0x23, 0x00,
                                              0x02, 0x26, 0x00, 0x01, 'b', 0x00, 0x00});
  Packet packet;
  ASSERT_EQ(FromClient(kV5, b, &packet), E::kNone);
  const Properties& in = std::get<Publish>(packet).properties;
  std::vector<StringPair> seen(in.user_properties().begin(), in.user_properties().end());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], (StringPair{"a", "1"}));
  EXPECT_EQ(seen[1], (StringPair{"b", ""}));
  Properties out;
  out.ForwardUserProperties(in);
  EXPECT_EQ(out.user_properties().size(), 2u);
  EXPECT_FALSE(out.Has(PI::kTopicAlias));
}

TEST(PropertiesTest, EqualityIgnoresSourceOfRepeatables) {
  const std::vector<uint8_t> b = PublishWith({0x26, 0x00, 0x01, 'a', 0x00, 0x01, '1'});
  Packet packet;
  ASSERT_EQ(FromClient(kV5, b, &packet), E::kNone);
  const StringPair pairs[] = {{"a", "1"}};
  Properties built;
  built.set_user_properties(pairs);
  EXPECT_TRUE(std::get<Publish>(packet).properties == built);
}

TEST(PropertyValidationTest, RejectsUnknownPropertyIdentifier) {
  EXPECT_EQ(FromClient(kV5, PublishWith({0x04, 0x00})), E::kUnknownProperty);
  EXPECT_EQ(FromClient(kV5, PublishWith({0x81, 0x01})), E::kUnknownProperty);
  EXPECT_EQ(GetDecodeErrorInfo(E::kUnknownProperty).reason, ReasonCode::kMalformedPacket);
}

TEST(PropertyValidationTest, RejectsPropertyNotAllowedInPacket) {
  // Session Expiry Interval in PUBLISH; Topic Alias in CONNACK.
  EXPECT_EQ(FromClient(kV5, PublishWith({0x11, 0, 0, 0, 1})), E::kPropertyNotAllowed);
  EXPECT_EQ(FromServer(kV5, ConnackWith({0x23, 0x00, 0x01})), E::kPropertyNotAllowed);
  EXPECT_EQ(GetDecodeErrorInfo(E::kPropertyNotAllowed).reason, ReasonCode::kMalformedPacket);
}

TEST(PropertyValidationTest, RejectsRepeatedSingleValuedProperty) {
  EXPECT_EQ(FromClient(kV5, PublishWith({0x01, 0x00, 0x01, 0x01})), E::kDuplicateProperty);
  EXPECT_EQ(GetDecodeErrorInfo(E::kDuplicateProperty).reason, ReasonCode::kProtocolError);
}

TEST(PropertyValidationTest, AllowsRepeatedUserProperty) {
  EXPECT_EQ(FromClient(kV5, PublishWith({0x26, 0, 0, 0, 0, 0x26, 0, 0, 0, 0})), E::kNone);
}

TEST(PropertyValidationTest, AllowsRepeatedSubscriptionIdentifierInServerPublish) {
  EXPECT_EQ(FromServer(kV5, PublishWith({0x0B, 0x01, 0x0B, 0x02})), E::kNone);
}

TEST(PropertyValidationTest, RejectsByteFlagsAboveOne) {
  EXPECT_EQ(FromClient(kV5, PublishWith({0x01, 0x02})), E::kInvalidPropertyValue);
  for (uint8_t id : {0x24, 0x25, 0x28, 0x29, 0x2A}) {
    EXPECT_EQ(FromServer(kV5, ConnackWith({id, 0x02})), E::kInvalidPropertyValue) << int{id};
    EXPECT_EQ(FromServer(kV5, ConnackWith({id, 0x01})), E::kNone) << int{id};
  }
}

TEST(PropertyValidationTest, RejectsRequestProblemAndResponseInformationAboveOne) {
  for (uint8_t id : {0x17, 0x19}) {
    const std::vector<uint8_t> b{0x10, 0x10, 0x00, 0x04, 'M', 'Q',  'T',  'T',  0x05,
                                 0x02, 0x00, 0x00, 0x02, id,  0x02, 0x00, 0x01, 'c'};
    EXPECT_EQ(FirstPacket(b), E::kInvalidPropertyValue) << int{id};
  }
}

TEST(PropertyValidationTest, RejectsReceiveMaximumZero) {
  EXPECT_EQ(FromServer(kV5, ConnackWith({0x21, 0x00, 0x00})), E::kInvalidPropertyValue);
}

TEST(PropertyValidationTest, RejectsMaximumPacketSizeZero) {
  EXPECT_EQ(FromServer(kV5, ConnackWith({0x27, 0, 0, 0, 0})), E::kInvalidPropertyValue);
}

TEST(PropertyValidationTest, RejectsAuthenticationDataWithoutMethod) {
  EXPECT_EQ(FromServer(kV5, ConnackWith({0x16, 0x00, 0x01, 0x07})), E::kInvalidPropertyValue);
  EXPECT_EQ(FromServer(kV5, ConnackWith({0x15, 0x00, 0x01, 'm', 0x16, 0x00, 0x01, 0x07})),
            E::kNone);
}

TEST(PropertyValidationTest, RejectsTopicAliasZero) {
  EXPECT_EQ(FromClient(kV5, PublishWith({0x23, 0x00, 0x00})), E::kTopicAliasZero);
  EXPECT_EQ(GetDecodeErrorInfo(E::kTopicAliasZero).reason, ReasonCode::kTopicAliasInvalid);
}

TEST(PropertyValidationTest, RejectsSubscriptionIdentifierZero) {
  EXPECT_EQ(FromServer(kV5, PublishWith({0x0B, 0x00})), E::kSubscriptionIdZero);
}

TEST(PropertyValidationTest, RejectsWildcardInResponseTopic) {
  EXPECT_EQ(FromClient(kV5, PublishWith({0x08, 0x00, 0x01, '#'})), E::kInvalidPropertyValue);
}

TEST(PropertyValidationTest, RejectsInvalidUtf8InStringProperties) {
  EXPECT_EQ(FromClient(kV5, PublishWith({0x03, 0x00, 0x01, 0x80})), E::kInvalidUtf8);
  EXPECT_EQ(FromClient(kV5, PublishWith({0x26, 0x00, 0x01, 'k', 0x00, 0x01, 0x00})),
            E::kInvalidUtf8);
}

TEST(PropertyValidationTest, RejectsPropertyRunningPastPropertyLength) {
  // Property length 2, but Message Expiry Interval needs 4 value bytes.
  EXPECT_EQ(FromClient(kV5, {0x30, 0x08, 0x00, 0x01, 't', 0x02, 0x02, 0x00, 0x00, 0x00}),
            E::kFieldOverrun);
}

TEST(PropertyValidationTest, RejectsPropertyLengthPastRemainingLength) {
  EXPECT_EQ(FromClient(kV5, {0x30, 0x05, 0x00, 0x01, 't', 0x09, 0x01}), E::kFieldOverrun);
}

TEST(PropertyValidationTest, RejectsPropertyLengthOver4Bytes) {
  EXPECT_EQ(FromClient(kV5, {0x30, 0x08, 0x00, 0x01, 't', 0x80, 0x80, 0x80, 0x80, 0x01}),
            E::kMalformedVarInt);
}

TEST(PropertyValidationTest, RejectsNonMinimalPropertyLength) {
  EXPECT_EQ(FromClient(kV5, {0x30, 0x05, 0x00, 0x01, 't', 0x80, 0x00}), E::kNonMinimalVarInt);
}

}  // namespace
}  // namespace telemq::mqtt
