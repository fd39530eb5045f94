#include "protocol/mqtt/property_codec.h"

#include <algorithm>
#include <bit>

#include "protocol/mqtt/topic.h"
#include "protocol/mqtt/utf8.h"

namespace telemq::mqtt::property_codec {
namespace {

// Range rules of spec 3.x.2.x: value out of range is a Protocol Error, except
// Topic Alias 0 (Topic Alias invalid) and Subscription Identifier 0 (own code).
DecodeError CheckInt(PropertyId id, uint32_t v) {
  switch (id) {
    case PropertyId::kPayloadFormatIndicator:
    case PropertyId::kRequestProblemInformation:
    case PropertyId::kRequestResponseInformation:
    case PropertyId::kMaximumQoS:
    case PropertyId::kRetainAvailable:
    case PropertyId::kWildcardSubscriptionAvailable:
    case PropertyId::kSubscriptionIdentifierAvailable:
    case PropertyId::kSharedSubscriptionAvailable:
      return v <= 1 ? DecodeError::kNone : DecodeError::kInvalidPropertyValue;
    case PropertyId::kReceiveMaximum:
    case PropertyId::kMaximumPacketSize:
      return v != 0 ? DecodeError::kNone : DecodeError::kInvalidPropertyValue;
    case PropertyId::kTopicAlias:
      return v != 0 ? DecodeError::kNone : DecodeError::kTopicAliasZero;
    case PropertyId::kSubscriptionIdentifier:
      return v != 0 ? DecodeError::kNone : DecodeError::kSubscriptionIdZero;
    default:
      return DecodeError::kNone;
  }
}

DecodeError DecodeEntry(wire::Reader& r, const PropertyInfo& info, Properties* out) {
  uint32_t v = 0;
  switch (info.type) {
    case PropertyType::kByte: {
      uint8_t b = 0;
      if (!r.ReadU8(&b)) return DecodeError::kFieldOverrun;
      v = b;
      break;
    }
    case PropertyType::kTwoByteInt: {
      uint16_t s = 0;
      if (!r.ReadU16(&s)) return DecodeError::kFieldOverrun;
      v = s;
      break;
    }
    case PropertyType::kFourByteInt:
      if (!r.ReadU32(&v)) return DecodeError::kFieldOverrun;
      break;
    case PropertyType::kVarInt:
      if (DecodeError e = r.ReadVarInt(&v); e != DecodeError::kNone) return e;
      return CheckInt(info.id, v);  // Subscription Identifier: kept in the raw block.
    case PropertyType::kUtf8String: {
      std::string_view s;
      if (DecodeError e = r.ReadString(&s); e != DecodeError::kNone) return e;
      if (info.id == PropertyId::kResponseTopic && ValidateTopicName(s) != TopicError::kOk) {
        return DecodeError::kInvalidPropertyValue;
      }
      out->SetString(info.id, s);
      return DecodeError::kNone;
    }
    case PropertyType::kBinary: {
      std::span<const uint8_t> b;
      if (!r.ReadBinary(&b)) return DecodeError::kFieldOverrun;
      out->SetBinary(info.id, b);
      return DecodeError::kNone;
    }
    case PropertyType::kStringPair: {
      std::string_view name, value;
      if (DecodeError e = r.ReadString(&name); e != DecodeError::kNone) return e;
      return r.ReadString(&value);
    }
  }
  if (DecodeError e = CheckInt(info.id, v); e != DecodeError::kNone) return e;
  out->SetInt(info.id, v);
  return DecodeError::kNone;
}

size_t EntrySize(const PropertyInfo& info, const Properties& p) {
  switch (info.type) {
    case PropertyType::kByte:
      return 2;
    case PropertyType::kTwoByteInt:
      return 3;
    case PropertyType::kFourByteInt:
      return 5;
    case PropertyType::kUtf8String:
      return 3 + p.GetString(info.id).size();
    case PropertyType::kBinary:
      return 3 + p.GetBinary(info.id).size();
    default:
      return 0;  // repeatables are sized separately
  }
}

}  // namespace

DecodeError Decode(wire::Reader& r, uint16_t packet_bit, Properties* out) {
  uint32_t length = 0;
  if (DecodeError e = r.ReadVarInt(&length); e != DecodeError::kNone) return e;
  const uint8_t* block = nullptr;
  if (!r.ReadBytes(length, &block)) return DecodeError::kFieldOverrun;
  if (length == 0) return DecodeError::kNone;
  wire::Reader br(block, length);
  bool has_user = false;
  bool has_sub_id = false;
  while (br.remaining() != 0) {
    uint8_t id = 0;
    br.ReadU8(&id);
    // Identifiers are variable byte integers, but every defined one is < 128:
    // a continuation bit can only introduce an unknown identifier.
    const PropertyInfo* info = FindPropertyInfo(id);
    if (info == nullptr) return DecodeError::kUnknownProperty;
    if (!AllowedIn(*info, packet_bit)) return DecodeError::kPropertyNotAllowed;
    if (info->id == PropertyId::kUserProperty) {
      has_user = true;
    } else if (info->id == PropertyId::kSubscriptionIdentifier) {
      // Repeatable in PUBLISH (one per matching subscription), not in SUBSCRIBE.
      if (has_sub_id && packet_bit != PacketBit(PacketType::kPublish)) {
        return DecodeError::kDuplicateProperty;
      }
      has_sub_id = true;
    } else if (out->single_mask() & (uint64_t{1} << id)) {
      return DecodeError::kDuplicateProperty;
    }
    if (DecodeError e = DecodeEntry(br, *info, out); e != DecodeError::kNone) return e;
  }
  // Authentication Data only makes sense for a named method (3.1.2.11.10).
  if (out->Has(PropertyId::kAuthenticationData) && !out->Has(PropertyId::kAuthenticationMethod)) {
    return DecodeError::kInvalidPropertyValue;
  }
  const std::span<const uint8_t> all(block, length);
  out->set_decoded_blocks(has_user ? all : std::span<const uint8_t>(),
                          has_sub_id ? all : std::span<const uint8_t>());
  return DecodeError::kNone;
}

size_t ContentSize(const Properties& p) {
  if (p.empty()) return 0;
  size_t n = 0;
  size_t longest = 0;  // longest string or binary value
  for (uint64_t m = p.single_mask(); m != 0; m &= m - 1) {
    const size_t entry = EntrySize(*FindPropertyInfo(static_cast<uint8_t>(std::countr_zero(m))), p);
    longest = std::max(longest, entry - 1);
    n += entry;
  }
  for (const StringPair& up : p.user_properties()) {
    longest = std::max({longest, up.name.size() + 2, up.value.size() + 2});
    n += 5 + up.name.size() + up.value.size();
  }
  for (uint32_t id : p.subscription_ids()) {
    if (id > wire::kMaxVarInt) return kUnencodable;
    n += 1 + wire::VarIntSize(id);
  }
  return longest > 2 + kMaxStringLength ? kUnencodable : std::min(n, kUnencodable);
}

void Write(const Properties& p, size_t content_size, wire::Writer& w) {
  w.VarInt(static_cast<uint32_t>(content_size));
  if (content_size == 0) return;
  for (uint64_t m = p.single_mask(); m != 0; m &= m - 1) {
    const PropertyInfo& info = *FindPropertyInfo(static_cast<uint8_t>(std::countr_zero(m)));
    w.U8(static_cast<uint8_t>(info.id));
    switch (info.type) {
      case PropertyType::kByte:
        w.U8(static_cast<uint8_t>(p.GetInt(info.id)));
        break;
      case PropertyType::kTwoByteInt:
        w.U16(static_cast<uint16_t>(p.GetInt(info.id)));
        break;
      case PropertyType::kFourByteInt:
        w.U32(p.GetInt(info.id));
        break;
      case PropertyType::kUtf8String:
        w.String(p.GetString(info.id));
        break;
      case PropertyType::kBinary:
        w.Binary(p.GetBinary(info.id));
        break;
      default:
        break;
    }
  }
  for (const StringPair& up : p.user_properties()) {
    w.U8(static_cast<uint8_t>(PropertyId::kUserProperty));
    w.String(up.name);
    w.String(up.value);
  }
  for (uint32_t id : p.subscription_ids()) {
    w.U8(static_cast<uint8_t>(PropertyId::kSubscriptionIdentifier));
    w.VarInt(id);
  }
}

}  // namespace telemq::mqtt::property_codec
