// telemq: MQTT wire-level enumerations shared by the codec and the sessions.
//
// Everything here is a plain value type with the numeric value the wire uses,
// so a byte read from a packet converts with a static_cast after validation.
//
//   mqtt::ReasonCode rc = mqtt::ReasonCode::kPacketTooLarge;
//   log << mqtt::ReasonCodeName(rc);   // "Packet too large"
#pragma once

#include <cstdint>
#include <string_view>

namespace telemq::mqtt {

// Control packet type: the high nibble of the first fixed-header byte.
// Value 0 is reserved (and malformed on the wire).
enum class PacketType : uint8_t {
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kPubrec = 5,
  kPubrel = 6,
  kPubcomp = 7,
  kSubscribe = 8,
  kSuback = 9,
  kUnsubscribe = 10,
  kUnsuback = 11,
  kPingreq = 12,
  kPingresp = 13,
  kDisconnect = 14,
  kAuth = 15,  // MQTT 5.0 only; reserved in 3.1.1.
};

std::string_view PacketTypeName(PacketType type);

// The "Protocol Level" byte of CONNECT. MQTT 3.1 (level 3) is not supported.
enum class ProtocolVersion : uint8_t {
  kV311 = 4,
  kV5 = 5,
};

enum class QoS : uint8_t {
  kAtMostOnce = 0,
  kAtLeastOnce = 1,
  kExactlyOnce = 2,
};

// MQTT 5.0 reason codes (spec 2.4). Values below 0x80 are successes. Several
// names share a value, exactly as in the spec; ReasonCodeName returns the
// first (generic) name for a shared value.
enum class ReasonCode : uint8_t {
  kSuccess = 0x00,
  kNormalDisconnection = 0x00,
  kGrantedQoS0 = 0x00,
  kGrantedQoS1 = 0x01,
  kGrantedQoS2 = 0x02,
  kDisconnectWithWillMessage = 0x04,
  kNoMatchingSubscribers = 0x10,
  kNoSubscriptionExisted = 0x11,
  kContinueAuthentication = 0x18,
  kReAuthenticate = 0x19,
  kUnspecifiedError = 0x80,
  kMalformedPacket = 0x81,
  kProtocolError = 0x82,
  kImplementationSpecificError = 0x83,
  kUnsupportedProtocolVersion = 0x84,
  kClientIdentifierNotValid = 0x85,
  kBadUserNameOrPassword = 0x86,
  kNotAuthorized = 0x87,
  kServerUnavailable = 0x88,
  kServerBusy = 0x89,
  kBanned = 0x8A,
  kServerShuttingDown = 0x8B,
  kBadAuthenticationMethod = 0x8C,
  kKeepAliveTimeout = 0x8D,
  kSessionTakenOver = 0x8E,
  kTopicFilterInvalid = 0x8F,
  kTopicNameInvalid = 0x90,
  kPacketIdentifierInUse = 0x91,
  kPacketIdentifierNotFound = 0x92,
  kReceiveMaximumExceeded = 0x93,
  kTopicAliasInvalid = 0x94,
  kPacketTooLarge = 0x95,
  kMessageRateTooHigh = 0x96,
  kQuotaExceeded = 0x97,
  kAdministrativeAction = 0x98,
  kPayloadFormatInvalid = 0x99,
  kRetainNotSupported = 0x9A,
  kQoSNotSupported = 0x9B,
  kUseAnotherServer = 0x9C,
  kServerMoved = 0x9D,
  kSharedSubscriptionsNotSupported = 0x9E,
  kConnectionRateExceeded = 0x9F,
  kMaximumConnectTime = 0xA0,
  kSubscriptionIdentifiersNotSupported = 0xA1,
  kWildcardSubscriptionsNotSupported = 0xA2,
};

// Human-readable name from the spec's table, or "Unknown reason code".
std::string_view ReasonCodeName(ReasonCode code);

// True when `code` is a value the MQTT 5.0 spec defines at all.
bool IsKnownReasonCode(uint8_t code);

// True when `code` may appear in a packet of `type` (spec 2.4 table and the
// per-packet reason code lists). Only meaningful for MQTT 5.0.
bool IsReasonCodeAllowed(PacketType type, ReasonCode code);

// MQTT 3.1.1 CONNACK return codes (spec 3.1.1, 3.2.2.3). Values 6-255 are
// reserved. Sessions speak ReasonCode; the codec maps for 3.1.1 peers.
enum class ConnackReturnCode : uint8_t {
  kAccepted = 0,
  kUnacceptableProtocolVersion = 1,
  kIdentifierRejected = 2,
  kServerUnavailable = 3,
  kBadUserNameOrPassword = 4,
  kNotAuthorized = 5,
};

std::string_view ConnackReturnCodeName(ConnackReturnCode code);

// 5.0 reason -> 3.1.1 return code, as the encoder writes a 3.1.1 CONNACK.
// Success -> Accepted; 0x84 -> 1; 0x85 -> 2; 0x86 -> 4; 0x87/0x8A -> 5;
// every other failure -> 3 (Server unavailable).
ConnackReturnCode ToConnackReturnCode(ReasonCode code);

// 3.1.1 return code -> the 5.0 reason the decoder reports (inverse of the
// above on its image: 3 -> 0x88, 5 -> 0x87).
ReasonCode FromConnackReturnCode(ConnackReturnCode code);

// 3.1.1 SUBACK return codes are 0x00..0x02 and 0x80: the same bytes as the
// 5.0 granted-QoS codes and Unspecified error. Any 5.0 failure (>= 0x80)
// is written as 0x80 to a 3.1.1 client.
inline uint8_t ToV311SubackCode(ReasonCode code) {
  return static_cast<uint8_t>(code) >= 0x80 ? 0x80 : static_cast<uint8_t>(code);
}

}  // namespace telemq::mqtt
