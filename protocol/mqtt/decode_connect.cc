// CONNECT and CONNACK bodies.
//
// CONNECT variable header and payload (5.0; 3.1.1 has no property blocks):
//   protocol name "MQTT" | level | flags | keep alive (2) | properties
//   client id | [will properties | will topic | will payload] | [user name] | [password]
// flags: 7 user name, 6 password, 5 will retain, 4-3 will QoS, 2 will, 1 clean, 0 reserved
#include "protocol/mqtt/decode_body.h"
#include "protocol/mqtt/property_codec.h"
#include "protocol/mqtt/topic.h"

namespace telemq::mqtt::decode_body {

DecodeError Connect(wire::Reader& r, mqtt::Connect* out) {
  std::string_view name;
  uint8_t level = 0, flags = 0;
  if (!r.ReadRawString(&name) || !r.ReadU8(&level)) return DecodeError::kFieldOverrun;
  // MQTT 3.1 ("MQIsdp", level 3) gets the "unacceptable protocol" answer
  // rather than a silent close, so old clients see why.
  if (name == "MQIsdp") return DecodeError::kUnsupportedProtocolVersion;
  if (name != "MQTT") return DecodeError::kInvalidProtocolName;
  if (level != 4 && level != 5) return DecodeError::kUnsupportedProtocolVersion;
  out->version = static_cast<ProtocolVersion>(level);
  const bool v5 = out->version == ProtocolVersion::kV5;

  if (!r.ReadU8(&flags) || !r.ReadU16(&out->keep_alive)) return DecodeError::kFieldOverrun;
  if (flags & 0x01) return DecodeError::kConnectReservedFlag;
  const bool will = flags & 0x04;
  const uint8_t will_qos = (flags >> 3) & 0x03;
  const bool will_retain = flags & 0x20;
  const bool has_password = flags & 0x40;
  const bool has_username = flags & 0x80;
  if (!will && (will_qos != 0 || will_retain)) return DecodeError::kWillFlagsWithoutWill;
  if (will_qos == 3) return DecodeError::kWillQoS3;
  if (!v5 && has_password && !has_username) return DecodeError::kPasswordWithoutUsername;
  out->clean_start = flags & 0x02;

  DecodeError e = DecodeError::kNone;
  if (v5 && (e = property_codec::Decode(r, PacketBit(PacketType::kConnect), &out->properties)) !=
                DecodeError::kNone) {
    return e;
  }
  if ((e = r.ReadString(&out->client_id)) != DecodeError::kNone) return e;
  if (will) {
    Will& w = out->will.emplace();
    w.qos = static_cast<QoS>(will_qos);
    w.retain = will_retain;
    if (v5 &&
        (e = property_codec::Decode(r, kWillPropertiesBit, &w.properties)) != DecodeError::kNone) {
      return e;
    }
    if (!r.ReadRawString(&w.topic)) return DecodeError::kFieldOverrun;
    switch (ValidateTopicName(w.topic)) {
      case TopicError::kOk:
        break;
      case TopicError::kInvalidUtf8:
        return DecodeError::kInvalidUtf8;
      default:
        return DecodeError::kInvalidWillTopic;
    }
    if (!r.ReadBinary(&w.payload)) return DecodeError::kFieldOverrun;
  }
  if (has_username) {
    std::string_view user;
    if ((e = r.ReadString(&user)) != DecodeError::kNone) return e;
    out->username = user;
  }
  if (has_password) {
    std::span<const uint8_t> password;
    if (!r.ReadBinary(&password)) return DecodeError::kFieldOverrun;
    out->password = password;
  }
  return EndOfBody(r);
}

DecodeError Connack(const Context& c, wire::Reader& r, mqtt::Connack* out) {
  uint8_t ack_flags = 0, code = 0;
  if (!r.ReadU8(&ack_flags) || !r.ReadU8(&code)) return DecodeError::kFieldOverrun;
  if (ack_flags & 0xFE) return DecodeError::kConnackReservedFlags;
  out->session_present = ack_flags & 0x01;
  if (c.v5()) {
    out->reason_code = static_cast<ReasonCode>(code);
    if (!IsReasonCodeAllowed(PacketType::kConnack, out->reason_code)) {
      return DecodeError::kInvalidReasonCode;
    }
  } else {
    if (code > 5) return DecodeError::kInvalidReasonCode;
    out->reason_code = FromConnackReturnCode(static_cast<ConnackReturnCode>(code));
  }
  if (out->session_present && code != 0) return DecodeError::kSessionPresentWithError;
  if (c.v5()) {
    const DecodeError e =
        property_codec::Decode(r, PacketBit(PacketType::kConnack), &out->properties);
    if (e != DecodeError::kNone) return e;
  }
  return EndOfBody(r);
}

}  // namespace telemq::mqtt::decode_body
