// SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK bodies.
//
// SUBSCRIBE:   packet id | properties (5.0) | (filter (2+n) | options (1))+
//   options 5.0: 7-6 reserved, 5-4 retain handling, 3 retain as published,
//                2 no local, 1-0 maximum QoS; 3.1.1: 7-2 reserved.
// SUBACK:      packet id | properties (5.0) | reason code+
// UNSUBSCRIBE: packet id | properties (5.0) | filter+
// UNSUBACK:    packet id | properties | reason code+  (5.0); packet id (3.1.1)
#include "protocol/mqtt/decode_body.h"
#include "protocol/mqtt/property_codec.h"
#include "protocol/mqtt/topic.h"

namespace telemq::mqtt::decode_body {
namespace {

// Packet id (non-zero) then, for 5.0, the property block of `type`.
DecodeError IdAndProperties(const Context& c, wire::Reader& r, PacketType type, uint16_t* id,
                            Properties* props) {
  if (!r.ReadU16(id)) return DecodeError::kFieldOverrun;
  if (*id == 0) return DecodeError::kZeroPacketId;
  if (!c.v5()) return DecodeError::kNone;
  return property_codec::Decode(r, PacketBit(type), props);
}

}  // namespace

DecodeError FilterError(std::string_view filter) {
  switch (ValidateTopicFilter(filter)) {
    case TopicError::kOk:
      return DecodeError::kNone;
    case TopicError::kInvalidUtf8:
      return DecodeError::kInvalidUtf8;
    default:
      return DecodeError::kInvalidTopicFilter;
  }
}

DecodeError Subscribe(const Context& c, wire::Reader& r, mqtt::Subscribe* out) {
  DecodeError e = IdAndProperties(c, r, PacketType::kSubscribe, &out->packet_id, &out->properties);
  if (e != DecodeError::kNone) return e;
  if (r.remaining() == 0) return DecodeError::kEmptySubscribe;
  while (r.remaining() != 0) {
    Subscription s;
    uint8_t opts = 0;
    if (!r.ReadRawString(&s.filter) || !r.ReadU8(&opts)) return DecodeError::kFieldOverrun;
    if ((e = FilterError(s.filter)) != DecodeError::kNone) return e;
    if (opts & (c.v5() ? 0xC0 : 0xFC)) return DecodeError::kReservedSubscriptionOptions;
    if ((opts & 0x03) == 3) return DecodeError::kSubscriptionQoS3;
    s.options.max_qos = static_cast<QoS>(opts & 0x03);
    if (c.v5()) {
      s.options.no_local = opts & 0x04;
      s.options.retain_as_published = opts & 0x08;
      const uint8_t rh = (opts >> 4) & 0x03;
      if (rh == 3) return DecodeError::kRetainHandling3;
      s.options.retain_handling = static_cast<RetainHandling>(rh);
      if (s.options.no_local && s.filter.starts_with("$share/")) {
        return DecodeError::kNoLocalOnSharedSubscription;
      }
    }
    out->subscriptions.push_back(s);
  }
  return DecodeError::kNone;
}

DecodeError Suback(const Context& c, wire::Reader& r, mqtt::Suback* out) {
  const DecodeError e =
      IdAndProperties(c, r, PacketType::kSuback, &out->packet_id, &out->properties);
  if (e != DecodeError::kNone) return e;
  if (r.remaining() == 0) return DecodeError::kEmptyAckPayload;
  uint8_t code = 0;
  while (r.ReadU8(&code)) {
    const auto rc = static_cast<ReasonCode>(code);
    const bool ok =
        c.v5() ? IsReasonCodeAllowed(PacketType::kSuback, rc) : (code <= 2 || code == 0x80);
    if (!ok) return DecodeError::kInvalidReasonCode;
    out->reason_codes.push_back(rc);
  }
  return DecodeError::kNone;
}

DecodeError Unsubscribe(const Context& c, wire::Reader& r, mqtt::Unsubscribe* out) {
  DecodeError e =
      IdAndProperties(c, r, PacketType::kUnsubscribe, &out->packet_id, &out->properties);
  if (e != DecodeError::kNone) return e;
  if (r.remaining() == 0) return DecodeError::kEmptyUnsubscribe;
  while (r.remaining() != 0) {
    std::string_view filter;
    if (!r.ReadRawString(&filter)) return DecodeError::kFieldOverrun;
    if ((e = FilterError(filter)) != DecodeError::kNone) return e;
    out->filters.push_back(filter);
  }
  return DecodeError::kNone;
}

DecodeError Unsuback(const Context& c, wire::Reader& r, mqtt::Unsuback* out) {
  const DecodeError e =
      IdAndProperties(c, r, PacketType::kUnsuback, &out->packet_id, &out->properties);
  if (e != DecodeError::kNone) return e;
  if (!c.v5()) return EndOfBody(r);
  if (r.remaining() == 0) return DecodeError::kEmptyAckPayload;
  uint8_t code = 0;
  while (r.ReadU8(&code)) {
    const auto rc = static_cast<ReasonCode>(code);
    if (!IsReasonCodeAllowed(PacketType::kUnsuback, rc)) return DecodeError::kInvalidReasonCode;
    out->reason_codes.push_back(rc);
  }
  return DecodeError::kNone;
}

}  // namespace telemq::mqtt::decode_body
