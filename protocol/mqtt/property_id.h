// telemq: the 27 MQTT 5.0 properties (spec 2.2.2.2): identifier, wire type,
// the packets each may appear in, and its name, as one constexpr table.
//
//   const PropertyInfo* info = FindPropertyInfo(0x23);   // Topic Alias
//   info->type == PropertyType::kTwoByteInt
//   AllowedIn(*info, PacketType::kPublish) == true
#pragma once

#include <cstdint>
#include <string_view>

#include "protocol/mqtt/types.h"

namespace telemq::mqtt {

enum class PropertyId : uint8_t {
  kPayloadFormatIndicator = 0x01,
  kMessageExpiryInterval = 0x02,
  kContentType = 0x03,
  kResponseTopic = 0x08,
  kCorrelationData = 0x09,
  kSubscriptionIdentifier = 0x0B,
  kSessionExpiryInterval = 0x11,
  kAssignedClientIdentifier = 0x12,
  kServerKeepAlive = 0x13,
  kAuthenticationMethod = 0x15,
  kAuthenticationData = 0x16,
  kRequestProblemInformation = 0x17,
  kWillDelayInterval = 0x18,
  kRequestResponseInformation = 0x19,
  kResponseInformation = 0x1A,
  kServerReference = 0x1C,
  kReasonString = 0x1F,
  kReceiveMaximum = 0x21,
  kTopicAliasMaximum = 0x22,
  kTopicAlias = 0x23,
  kMaximumQoS = 0x24,
  kRetainAvailable = 0x25,
  kUserProperty = 0x26,
  kMaximumPacketSize = 0x27,
  kWildcardSubscriptionAvailable = 0x28,
  kSubscriptionIdentifierAvailable = 0x29,
  kSharedSubscriptionAvailable = 0x2A,
};

inline constexpr int kPropertyCount = 27;
inline constexpr uint8_t kMaxPropertyId = 0x2A;

enum class PropertyType : uint8_t {
  kByte,
  kTwoByteInt,
  kFourByteInt,
  kVarInt,
  kUtf8String,
  kBinary,
  kStringPair,
};

// Bit for "Will Properties" in PropertyInfo::packets; packet types use the
// bit of their value (1..15), so bit 0 is free.
inline constexpr uint16_t kWillPropertiesBit = 1u << 0;
constexpr uint16_t PacketBit(PacketType t) { return uint16_t(1u << static_cast<uint8_t>(t)); }

// Storage class inside Properties: integer-valued properties share one
// array of uint32_t, string/binary ones an array of views; the two
// repeatable properties are kept apart (see properties.h).
inline constexpr int kIntSlots = 16;
inline constexpr int kStringSlots = 9;
inline constexpr uint8_t kNoSlot = 0xFF;

struct PropertyInfo {
  PropertyId id;
  PropertyType type;
  uint16_t packets;  // PacketBit(...) | kWillPropertiesBit
  uint8_t slot;      // index into the int or string slots, or kNoSlot
  std::string_view name;
};

// The table entry for `id`, or nullptr when the identifier is not defined.
const PropertyInfo* FindPropertyInfo(uint8_t id);

// Every property, in identifier order (kPropertyCount entries).
const PropertyInfo* AllProperties();

inline bool AllowedIn(const PropertyInfo& info, uint16_t packet_bit) {
  return (info.packets & packet_bit) != 0;
}

std::string_view PropertyName(PropertyId id);

}  // namespace telemq::mqtt
