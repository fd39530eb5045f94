#include "protocol/mqtt/decode_error.h"

#include <array>

namespace telemq::mqtt {
namespace {

using R = ReasonCode;
constexpr V311Reaction kClose = V311Reaction::kClose;

constexpr std::array<DecodeErrorInfo, static_cast<size_t>(DecodeError::kCount)> kInfo = {{
    {"no error", R::kSuccess, kClose},
    {"reserved packet type 0", R::kMalformedPacket, kClose},
    {"packet type not allowed in this direction", R::kProtocolError, kClose},
    {"first packet is not CONNECT", R::kProtocolError, kClose},
    {"second CONNECT", R::kProtocolError, kClose},
    {"AUTH on a 3.1.1 connection", R::kProtocolError, kClose},
    {"reserved fixed header flags", R::kMalformedPacket, kClose},
    {"PUBLISH QoS 3", R::kMalformedPacket, kClose},
    {"PUBLISH DUP with QoS 0", R::kMalformedPacket, kClose},
    {"remaining length longer than 4 bytes", R::kMalformedPacket, kClose},
    {"variable byte integer not minimal", R::kMalformedPacket, kClose},
    {"packet larger than the maximum packet size", R::kPacketTooLarge, kClose},
    {"body in a packet that has none", R::kMalformedPacket, kClose},
    {"client decoder without protocol version", R::kProtocolError, kClose},
    {"field runs past the remaining length", R::kMalformedPacket, kClose},
    {"trailing bytes after the last field", R::kMalformedPacket, kClose},
    {"invalid UTF-8 string", R::kMalformedPacket, kClose},
    {"variable byte integer longer than 4 bytes", R::kMalformedPacket, kClose},
    {"protocol name is not MQTT", R::kMalformedPacket, kClose},
    {"unsupported protocol version", R::kUnsupportedProtocolVersion,
     V311Reaction::kConnackUnacceptableProtocol},
    {"CONNECT reserved flag set", R::kMalformedPacket, kClose},
    {"will QoS or retain without will flag", R::kMalformedPacket, kClose},
    {"will QoS 3", R::kMalformedPacket, kClose},
    {"password without user name", R::kMalformedPacket, kClose},
    {"invalid will topic", R::kTopicNameInvalid, kClose},
    {"CONNACK reserved flags set", R::kMalformedPacket, kClose},
    {"session present with a failure code", R::kProtocolError, kClose},
    {"reason code not allowed in this packet", R::kProtocolError, kClose},
    {"empty topic name without topic alias", R::kProtocolError, kClose},
    {"wildcard in PUBLISH topic name", R::kTopicNameInvalid, kClose},
    {"packet identifier 0", R::kProtocolError, kClose},
    {"subscription identifier in a client PUBLISH", R::kProtocolError, kClose},
    {"SUBSCRIBE without topic filter", R::kProtocolError, kClose},
    {"UNSUBSCRIBE without topic filter", R::kProtocolError, kClose},
    {"acknowledgement without reason codes", R::kProtocolError, kClose},
    {"invalid topic filter", R::kMalformedPacket, kClose},
    {"subscription QoS 3", R::kMalformedPacket, kClose},
    {"reserved subscription option bits set", R::kMalformedPacket, kClose},
    {"retain handling 3", R::kProtocolError, kClose},
    {"no local on a shared subscription", R::kProtocolError, kClose},
    {"unknown property identifier", R::kMalformedPacket, kClose},
    {"property not allowed in this packet", R::kMalformedPacket, kClose},
    {"property included more than once", R::kProtocolError, kClose},
    {"property value out of range", R::kProtocolError, kClose},
    {"topic alias 0", R::kTopicAliasInvalid, kClose},
    {"subscription identifier 0", R::kProtocolError, kClose},
    {"payload is not UTF-8 but format indicator says so", R::kPayloadFormatInvalid, kClose},
}};

}  // namespace

const DecodeErrorInfo& GetDecodeErrorInfo(DecodeError error) {
  const size_t i = static_cast<size_t>(error);
  return kInfo[i < kInfo.size() ? i : 0];
}

}  // namespace telemq::mqtt
