// PUBLISH and its acknowledgements (PUBACK, PUBREC, PUBREL, PUBCOMP).
//
// PUBLISH: topic (2+n) | packet id (2, QoS > 0 only) | properties (5.0) | payload
// Acks 3.1.1: packet id (2). Acks 5.0: packet id | [reason code | [properties]],
// where remaining length 2 means Success and 3 means no properties.
#include "protocol/mqtt/decode_body.h"
#include "protocol/mqtt/property_codec.h"
#include "protocol/mqtt/topic.h"

namespace telemq::mqtt::decode_body {

DecodeError Publish(const Context& c, wire::Reader& r, mqtt::Publish* out) {
  // Flags were validated with the fixed header (no QoS 3, no DUP with QoS 0).
  out->dup = c.flags & 0x08;
  out->qos = static_cast<QoS>((c.flags >> 1) & 0x03);
  out->retain = c.flags & 0x01;
  if (!r.ReadRawString(&out->topic)) return DecodeError::kFieldOverrun;
  bool empty_topic = false;
  switch (ValidateTopicName(out->topic)) {
    case TopicError::kOk:
      break;
    case TopicError::kEmpty:
      empty_topic = true;
      break;
    case TopicError::kInvalidUtf8:
      return DecodeError::kInvalidUtf8;
    default:
      return DecodeError::kWildcardInTopicName;
  }
  if (out->qos != QoS::kAtMostOnce) {
    if (!r.ReadU16(&out->packet_id)) return DecodeError::kFieldOverrun;
    if (out->packet_id == 0) return DecodeError::kZeroPacketId;
  }
  if (c.v5()) {
    const DecodeError e =
        property_codec::Decode(r, PacketBit(PacketType::kPublish), &out->properties);
    if (e != DecodeError::kNone) return e;
    if (c.role == Role::kServer && out->properties.Has(PropertyId::kSubscriptionIdentifier)) {
      return DecodeError::kSubscriptionIdFromClient;
    }
    // An empty topic is how 5.0 says "use the topic of this alias".
    if (empty_topic && !out->properties.Has(PropertyId::kTopicAlias)) {
      return DecodeError::kEmptyTopicName;
    }
  } else if (empty_topic) {
    return DecodeError::kEmptyTopicName;
  }
  const uint8_t* payload = nullptr;
  const size_t n = r.remaining();
  r.ReadBytes(n, &payload);
  out->payload = {payload, n};
  return DecodeError::kNone;
}

template <PacketType kType>
DecodeError Ack(const Context& c, wire::Reader& r, PublishAck<kType>* out) {
  if (!r.ReadU16(&out->packet_id)) return DecodeError::kFieldOverrun;
  if (out->packet_id == 0) return DecodeError::kZeroPacketId;
  if (!c.v5() || r.remaining() == 0) return EndOfBody(r);
  uint8_t code = 0;
  r.ReadU8(&code);
  out->reason_code = static_cast<ReasonCode>(code);
  if (!IsReasonCodeAllowed(kType, out->reason_code)) return DecodeError::kInvalidReasonCode;
  if (r.remaining() == 0) return DecodeError::kNone;
  const DecodeError e = property_codec::Decode(r, PacketBit(kType), &out->properties);
  if (e != DecodeError::kNone) return e;
  return EndOfBody(r);
}

template DecodeError Ack(const Context&, wire::Reader&, mqtt::Puback*);
template DecodeError Ack(const Context&, wire::Reader&, mqtt::Pubrec*);
template DecodeError Ack(const Context&, wire::Reader&, mqtt::Pubrel*);
template DecodeError Ack(const Context&, wire::Reader&, mqtt::Pubcomp*);

}  // namespace telemq::mqtt::decode_body
