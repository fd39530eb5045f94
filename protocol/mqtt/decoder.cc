// Fixed header and dispatch (MQTT 5.0 spec 2.1):
//
//   byte 0: packet type (7-4) | flags (3-0)
//   byte 1..4: remaining length, variable byte integer (1 to 4 bytes)
//   then `remaining length` bytes of variable header and payload.
#include "protocol/mqtt/decoder.h"

#include "protocol/mqtt/decode_body.h"
#include "protocol/mqtt/property_codec.h"

namespace telemq::mqtt {
namespace {

constexpr uint16_t Bits(std::initializer_list<PacketType> types) {
  uint16_t m = 0;
  for (PacketType t : types) m |= PacketBit(t);
  return m;
}

using PT = PacketType;
// What each side may send. DISCONNECT from a server exists only in 5.0.
constexpr uint16_t kFromClient =
    Bits({PT::kConnect, PT::kPublish, PT::kPuback, PT::kPubrec, PT::kPubrel, PT::kPubcomp,
          PT::kSubscribe, PT::kUnsubscribe, PT::kPingreq, PT::kDisconnect, PT::kAuth});
constexpr uint16_t kFromServerV5 =
    Bits({PT::kConnack, PT::kPublish, PT::kPuback, PT::kPubrec, PT::kPubrel, PT::kPubcomp,
          PT::kSuback, PT::kUnsuback, PT::kPingresp, PT::kDisconnect, PT::kAuth});
constexpr uint16_t kFromServerV311 = kFromServerV5 & ~PacketBit(PT::kDisconnect);

DecodeResult Error(DecodeError e) { return {DecodeStatus::kError, e, 0, 0}; }
DecodeResult NeedMore(size_t total) {
  return {DecodeStatus::kNeedMore, DecodeError::kNone, 0, total};
}

DecodeError CheckFlags(PT type, uint8_t flags) {
  switch (type) {
    case PT::kPublish: {
      const uint8_t qos = (flags >> 1) & 0x03;
      if (qos == 3) return DecodeError::kPublishQoS3;
      if ((flags & 0x08) && qos == 0) return DecodeError::kPublishDupWithQoS0;
      return DecodeError::kNone;
    }
    case PT::kPubrel:
    case PT::kSubscribe:
    case PT::kUnsubscribe:
      return flags == 0x02 ? DecodeError::kNone : DecodeError::kInvalidFixedHeaderFlags;
    default:
      return flags == 0 ? DecodeError::kNone : DecodeError::kInvalidFixedHeaderFlags;
  }
}

}  // namespace

namespace decode_body {

// DISCONNECT 5.0: [reason code [properties]]; remaining length 0 = Normal.
DecodeError Disconnect(const Context& c, wire::Reader& r, mqtt::Disconnect* out) {
  if (r.remaining() == 0) return DecodeError::kNone;
  uint8_t code = 0;
  r.ReadU8(&code);
  out->reason_code = static_cast<ReasonCode>(code);
  if (!IsReasonCodeAllowed(PT::kDisconnect, out->reason_code)) {
    return DecodeError::kInvalidReasonCode;
  }
  if (r.remaining() == 0) return DecodeError::kNone;
  DecodeError e = property_codec::Decode(r, PacketBit(PT::kDisconnect), &out->properties);
  if (e != DecodeError::kNone) return e;
  // MQTT-3.14.2-2: a server never sends Session Expiry Interval in DISCONNECT.
  if (c.role == Role::kClient && out->properties.Has(PropertyId::kSessionExpiryInterval)) {
    return DecodeError::kPropertyNotAllowed;
  }
  return EndOfBody(r);
}

// AUTH: [reason code [properties]]; remaining length 0 = Success.
DecodeError Auth(wire::Reader& r, mqtt::Auth* out) {
  if (r.remaining() == 0) return DecodeError::kNone;
  uint8_t code = 0;
  r.ReadU8(&code);
  out->reason_code = static_cast<ReasonCode>(code);
  if (!IsReasonCodeAllowed(PT::kAuth, out->reason_code)) return DecodeError::kInvalidReasonCode;
  if (r.remaining() == 0) return DecodeError::kNone;
  DecodeError e = property_codec::Decode(r, PacketBit(PT::kAuth), &out->properties);
  if (e != DecodeError::kNone) return e;
  return EndOfBody(r);
}

}  // namespace decode_body

DecodeResult Decoder::Decode(std::span<const uint8_t> bytes, Packet* out) {
  if (bytes.empty()) return NeedMore(0);
  const uint8_t first = bytes[0];
  const auto type = static_cast<PT>(first >> 4);
  if (first >> 4 == 0) return Error(DecodeError::kReservedPacketType);
  uint16_t allowed = kFromClient;
  if (role_ == Role::kServer) {
    if (!connect_received_ && type != PT::kConnect) {
      return Error(DecodeError::kFirstPacketNotConnect);
    }
    if (connect_received_ && type == PT::kConnect) return Error(DecodeError::kSecondConnect);
  } else {
    if (!version_) return Error(DecodeError::kNoProtocolVersion);
    allowed = *version_ == ProtocolVersion::kV5 ? kFromServerV5 : kFromServerV311;
  }
  if (type == PT::kAuth && version_ == ProtocolVersion::kV311) {
    return Error(DecodeError::kAuthInV311);
  }
  if ((allowed & PacketBit(type)) == 0) return Error(DecodeError::kUnexpectedPacketType);
  if (DecodeError e = CheckFlags(type, first & 0x0F); e != DecodeError::kNone) return Error(e);

  uint32_t remaining = 0;
  DecodeError err = DecodeError::kNone;
  const size_t len_bytes = wire::ParseVarInt(bytes.data() + 1, bytes.size() - 1, &remaining, &err,
                                             DecodeError::kRemainingLengthTooLong);
  if (len_bytes == 0) return err == DecodeError::kNone ? NeedMore(0) : Error(err);
  const size_t total = 1 + len_bytes + remaining;
  if (total > max_size_) return Error(DecodeError::kPacketTooLarge);
  if (remaining != 0 && (type == PT::kPingreq || type == PT::kPingresp ||
                         (type == PT::kDisconnect && version_ == ProtocolVersion::kV311))) {
    return Error(DecodeError::kUnexpectedBody);
  }
  if (bytes.size() < total) return NeedMore(total);
  return DecodeBody(first, bytes.data() + 1 + len_bytes, remaining, total, out);
}

DecodeResult Decoder::DecodeBody(uint8_t first, const uint8_t* body, size_t body_size, size_t total,
                                 Packet* out) {
  namespace db = decode_body;
  const db::Context c{version_.value_or(ProtocolVersion::kV5), role_,
                      static_cast<uint8_t>(first & 0x0F)};
  wire::Reader r(body, body_size);
  DecodeError e = DecodeError::kNone;
  switch (static_cast<PT>(first >> 4)) {
    case PT::kPublish:
      e = db::Publish(c, r, &out->emplace<Publish>());
      break;
    case PT::kConnect: {
      Connect& connect = out->emplace<Connect>();
      e = db::Connect(r, &connect);
      if (e == DecodeError::kNone) {
        version_ = connect.version;
        connect_received_ = true;
      }
      break;
    }
    case PT::kConnack:
      e = db::Connack(c, r, &out->emplace<Connack>());
      break;
    case PT::kPuback:
      e = db::Ack(c, r, &out->emplace<Puback>());
      break;
    case PT::kPubrec:
      e = db::Ack(c, r, &out->emplace<Pubrec>());
      break;
    case PT::kPubrel:
      e = db::Ack(c, r, &out->emplace<Pubrel>());
      break;
    case PT::kPubcomp:
      e = db::Ack(c, r, &out->emplace<Pubcomp>());
      break;
    case PT::kSubscribe:
      e = db::Subscribe(c, r, &out->emplace<Subscribe>());
      break;
    case PT::kSuback:
      e = db::Suback(c, r, &out->emplace<Suback>());
      break;
    case PT::kUnsubscribe:
      e = db::Unsubscribe(c, r, &out->emplace<Unsubscribe>());
      break;
    case PT::kUnsuback:
      e = db::Unsuback(c, r, &out->emplace<Unsuback>());
      break;
    case PT::kPingreq:
      out->emplace<Pingreq>();
      break;
    case PT::kPingresp:
      out->emplace<Pingresp>();
      break;
    case PT::kDisconnect:
      e = c.v5() ? db::Disconnect(c, r, &out->emplace<Disconnect>())
                 : (out->emplace<Disconnect>(), DecodeError::kNone);
      break;
    case PT::kAuth:
      e = db::Auth(r, &out->emplace<Auth>());
      break;
  }
  if (e != DecodeError::kNone) return Error(e);
  return {DecodeStatus::kOk, DecodeError::kNone, total, 0};
}

DecodeError CheckPayloadFormat(const Publish& publish) {
  if (publish.properties.GetInt(PropertyId::kPayloadFormatIndicator) != 1) {
    return DecodeError::kNone;
  }
  return IsValidUtf8Payload(publish.payload.data(), publish.payload.size())
             ? DecodeError::kNone
             : DecodeError::kPayloadFormatInvalid;
}

DecodeError CheckWillPayloadFormat(const Will& will) {
  if (will.properties.GetInt(PropertyId::kPayloadFormatIndicator) != 1) return DecodeError::kNone;
  return IsValidUtf8Payload(will.payload.data(), will.payload.size())
             ? DecodeError::kNone
             : DecodeError::kPayloadFormatInvalid;
}

}  // namespace telemq::mqtt
