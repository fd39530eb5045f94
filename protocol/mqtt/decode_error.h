// telemq: every validation rule of the MQTT decoder, as one error code each.
//
// The decoder reports *what* rule was broken; GetDecodeErrorInfo says what
// the session must do about it:
//   - MQTT 5.0: send the `reason` code (in CONNACK if the error is in CONNECT
//     and no CONNACK was sent yet, in DISCONNECT otherwise), then close.
//   - MQTT 3.1.1: `v311` says whether to close at once or first answer
//     CONNACK 0x01 (unacceptable protocol version).
// docs/mqtt_codec.md has the same table with the spec references.
#pragma once

#include <cstdint>
#include <string_view>

#include "protocol/mqtt/types.h"

namespace telemq::mqtt {

enum class DecodeError : uint8_t {
  kNone = 0,
  // Fixed header: reported as soon as the first bytes are available.
  kReservedPacketType,       // packet type 0
  kUnexpectedPacketType,     // e.g. CONNACK sent to a server, SUBSCRIBE to a client
  kFirstPacketNotConnect,    // server role: anything before CONNECT
  kSecondConnect,            // server role: CONNECT after a CONNECT
  kAuthInV311,               // packet type 15 on a 3.1.1 connection
  kInvalidFixedHeaderFlags,  // reserved flag bits not 0000 (0010 for PUBREL/SUBSCRIBE/UNSUBSCRIBE)
  kPublishQoS3,              // PUBLISH with both QoS bits set
  kPublishDupWithQoS0,       // PUBLISH with DUP=1 and QoS 0
  kRemainingLengthTooLong,   // remaining length encoded in more than 4 bytes
  kNonMinimalVarInt,         // variable byte integer not in its shortest form
  kPacketTooLarge,           // total packet size above max_packet_size
  kUnexpectedBody,           // PINGREQ/PINGRESP (and 3.1.1 DISCONNECT) with remaining length > 0
  kNoProtocolVersion,        // client role decoder created without a protocol version
  // Packet structure.
  kFieldOverrun,     // a field runs past the remaining length
  kTrailingBytes,    // bytes left after the last field
  kInvalidUtf8,      // a UTF-8 string field is ill-formed or holds U+0000 / a surrogate
  kMalformedVarInt,  // a variable byte integer in the body is longer than 4 bytes
  // CONNECT.
  kInvalidProtocolName,         // not "MQTT" (nor "MQIsdp" with level 3)
  kUnsupportedProtocolVersion,  // level not 4 or 5 (MQTT 3.1 included)
  kConnectReservedFlag,         // CONNECT flags bit 0 set
  kWillFlagsWithoutWill,        // will QoS or will retain set, will flag clear
  kWillQoS3,                    // will QoS 3
  kPasswordWithoutUsername,     // 3.1.1 only: password flag without user name flag
  kInvalidWillTopic,            // empty or wildcard will topic
  // CONNACK (client role).
  kConnackReservedFlags,     // acknowledge flags bits 7..1 set
  kSessionPresentWithError,  // session present = 1 with a failure code
  kInvalidReasonCode,        // reason / return code not allowed in this packet
  // PUBLISH.
  kEmptyTopicName,            // zero-length topic (without a 5.0 Topic Alias)
  kWildcardInTopicName,       // '+' or '#' in a PUBLISH topic
  kZeroPacketId,              // packet identifier 0 where one is required
  kSubscriptionIdFromClient,  // Subscription Identifier in a client's PUBLISH
  // SUBSCRIBE / UNSUBSCRIBE / SUBACK / UNSUBACK.
  kEmptySubscribe,               // SUBSCRIBE without a topic filter
  kEmptyUnsubscribe,             // UNSUBSCRIBE without a topic filter
  kEmptyAckPayload,              // SUBACK (or 5.0 UNSUBACK) without a reason code
  kInvalidTopicFilter,           // bad wildcard placement, bad $share syntax, empty filter
  kSubscriptionQoS3,             // requested QoS 3
  kReservedSubscriptionOptions,  // reserved subscription option bits set
  kRetainHandling3,              // Retain Handling 3
  kNoLocalOnSharedSubscription,  // No Local = 1 on a $share filter
  // Properties (5.0).
  kUnknownProperty,       // identifier not defined by the spec
  kPropertyNotAllowed,    // identifier not valid for this packet
  kDuplicateProperty,     // non-repeatable property present twice
  kInvalidPropertyValue,  // value out of its range (e.g. Receive Maximum 0)
  kTopicAliasZero,        // Topic Alias 0
  kSubscriptionIdZero,    // Subscription Identifier 0
  // Payload (CheckPayloadFormat, not run by the decoder).
  kPayloadFormatInvalid,  // Payload Format Indicator 1 with a non-UTF-8 payload
  kCount,
};

// How a 3.1.1 server reacts to a decode error (3.1.1 has no reason codes).
enum class V311Reaction : uint8_t {
  kClose,                        // close the network connection
  kConnackUnacceptableProtocol,  // send CONNACK 0x01 (20 02 00 01), then close
};

struct DecodeErrorInfo {
  std::string_view name;  // the rule, e.g. "wildcard in PUBLISH topic name"
  ReasonCode reason;      // what MQTT 5.0 requires
  V311Reaction v311;
};

const DecodeErrorInfo& GetDecodeErrorInfo(DecodeError error);

inline std::string_view DecodeErrorName(DecodeError error) {
  return GetDecodeErrorInfo(error).name;
}

}  // namespace telemq::mqtt
