#include "protocol/mqtt/property_id.h"

#include <array>

namespace telemq::mqtt {
namespace {

using I = PropertyId;
using T = PropertyType;
constexpr uint16_t kConnect = PacketBit(PacketType::kConnect);
constexpr uint16_t kConnack = PacketBit(PacketType::kConnack);
constexpr uint16_t kPublish = PacketBit(PacketType::kPublish);
constexpr uint16_t kPubAcks = PacketBit(PacketType::kPuback) | PacketBit(PacketType::kPubrec) |
                              PacketBit(PacketType::kPubrel) | PacketBit(PacketType::kPubcomp);
constexpr uint16_t kSubscribe = PacketBit(PacketType::kSubscribe);
constexpr uint16_t kSubAcks = PacketBit(PacketType::kSuback) | PacketBit(PacketType::kUnsuback);
constexpr uint16_t kUnsubscribe = PacketBit(PacketType::kUnsubscribe);
constexpr uint16_t kDisconnect = PacketBit(PacketType::kDisconnect);
constexpr uint16_t kAuth = PacketBit(PacketType::kAuth);
constexpr uint16_t kWill = kWillPropertiesBit;

// Identifier order. Slots: integers 0..15, strings/binary 0..8.
constexpr std::array<PropertyInfo, kPropertyCount> kTable = {{
    {I::kPayloadFormatIndicator, T::kByte, kPublish | kWill, 0, "Payload Format Indicator"},
    {I::kMessageExpiryInterval, T::kFourByteInt, kPublish | kWill, 1, "Message Expiry Interval"},
    {I::kContentType, T::kUtf8String, kPublish | kWill, 0, "Content Type"},
    {I::kResponseTopic, T::kUtf8String, kPublish | kWill, 1, "Response Topic"},
    {I::kCorrelationData, T::kBinary, kPublish | kWill, 2, "Correlation Data"},
    {I::kSubscriptionIdentifier, T::kVarInt, kPublish | kSubscribe, kNoSlot,
     "Subscription Identifier"},
    {I::kSessionExpiryInterval, T::kFourByteInt, kConnect | kConnack | kDisconnect, 2,
     "Session Expiry Interval"},
    {I::kAssignedClientIdentifier, T::kUtf8String, kConnack, 3, "Assigned Client Identifier"},
    {I::kServerKeepAlive, T::kTwoByteInt, kConnack, 3, "Server Keep Alive"},
    {I::kAuthenticationMethod, T::kUtf8String, kConnect | kConnack | kAuth, 4,
     "Authentication Method"},
    {I::kAuthenticationData, T::kBinary, kConnect | kConnack | kAuth, 5, "Authentication Data"},
    {I::kRequestProblemInformation, T::kByte, kConnect, 4, "Request Problem Information"},
    {I::kWillDelayInterval, T::kFourByteInt, kWill, 5, "Will Delay Interval"},
    {I::kRequestResponseInformation, T::kByte, kConnect, 6, "Request Response Information"},
    {I::kResponseInformation, T::kUtf8String, kConnack, 6, "Response Information"},
    {I::kServerReference, T::kUtf8String, kConnack | kDisconnect, 7, "Server Reference"},
    {I::kReasonString, T::kUtf8String, kConnack | kPubAcks | kSubAcks | kDisconnect | kAuth, 8,
     "Reason String"},
    {I::kReceiveMaximum, T::kTwoByteInt, kConnect | kConnack, 7, "Receive Maximum"},
    {I::kTopicAliasMaximum, T::kTwoByteInt, kConnect | kConnack, 8, "Topic Alias Maximum"},
    {I::kTopicAlias, T::kTwoByteInt, kPublish, 9, "Topic Alias"},
    {I::kMaximumQoS, T::kByte, kConnack, 10, "Maximum QoS"},
    {I::kRetainAvailable, T::kByte, kConnack, 11, "Retain Available"},
    {I::kUserProperty, T::kStringPair,
     kConnect | kConnack | kPublish | kWill | kPubAcks | kSubscribe | kSubAcks | kUnsubscribe |
         kDisconnect | kAuth,
     kNoSlot, "User Property"},
    {I::kMaximumPacketSize, T::kFourByteInt, kConnect | kConnack, 12, "Maximum Packet Size"},
    {I::kWildcardSubscriptionAvailable, T::kByte, kConnack, 13, "Wildcard Subscription Available"},
    {I::kSubscriptionIdentifierAvailable, T::kByte, kConnack, 14,
     "Subscription Identifier Available"},
    {I::kSharedSubscriptionAvailable, T::kByte, kConnack, 15, "Shared Subscription Available"},
}};

// Identifier -> table index, or kNoIndex.
constexpr uint8_t kNoIndex = 0xFF;
static_assert(kPropertyCount < kNoIndex);
constexpr std::array<uint8_t, kMaxPropertyId + 1> kIndex = [] {
  std::array<uint8_t, kMaxPropertyId + 1> index{};
  for (auto& i : index) i = kNoIndex;
  for (int i = 0; i < kPropertyCount; ++i) {
    index[static_cast<uint8_t>(kTable[i].id)] = static_cast<uint8_t>(i);
  }
  return index;
}();

}  // namespace

const PropertyInfo* FindPropertyInfo(uint8_t id) {
  if (id > kMaxPropertyId || kIndex[id] == kNoIndex) return nullptr;
  return &kTable[kIndex[id]];
}

const PropertyInfo* AllProperties() { return kTable.data(); }

std::string_view PropertyName(PropertyId id) {
  const PropertyInfo* info = FindPropertyInfo(static_cast<uint8_t>(id));
  return info ? info->name : "Unknown property";
}

}  // namespace telemq::mqtt
