#include "protocol/mqtt/properties.h"

#include <algorithm>
#include <bit>
#include <cassert>

namespace telemq::mqtt {
namespace properties_internal {
namespace {

uint16_t Load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

}  // namespace

// The block was validated by the decoder (or holds no entry), so every entry
// is complete and its identifier is known.
const uint8_t* BlockCursor::Skip(const uint8_t* p) {
  const PropertyInfo* info = FindPropertyInfo(p[0]);
  ++p;
  switch (info->type) {
    case PropertyType::kByte:
      return p + 1;
    case PropertyType::kTwoByteInt:
      return p + 2;
    case PropertyType::kFourByteInt:
      return p + 4;
    case PropertyType::kVarInt:
      while (*p & 0x80) ++p;
      return p + 1;
    case PropertyType::kUtf8String:
    case PropertyType::kBinary:
      return p + 2 + Load16(p);
    case PropertyType::kStringPair:
      p += 2 + Load16(p);
      return p + 2 + Load16(p);
  }
  return p;
}

StringPair ReadStringPair(const uint8_t* p) {
  const uint16_t n1 = Load16(p);
  const char* s1 = reinterpret_cast<const char*>(p + 2);
  const uint16_t n2 = Load16(p + 2 + n1);
  const char* s2 = reinterpret_cast<const char*>(p + 4 + n1);
  return {{s1, n1}, {s2, n2}};
}

uint32_t ReadVarIntValue(const uint8_t* p) {
  uint32_t v = 0;
  for (int shift = 0;; shift += 7, ++p) {
    v |= uint32_t{*p & 0x7Fu} << shift;
    if ((*p & 0x80) == 0) return v;
  }
}

}  // namespace properties_internal

namespace {

constexpr uint64_t Bit(PropertyId id) { return uint64_t{1} << static_cast<uint8_t>(id); }

const PropertyInfo& Info(PropertyId id) {
  const PropertyInfo* info = FindPropertyInfo(static_cast<uint8_t>(id));
  assert(info != nullptr);
  return *info;
}

bool IsIntType(PropertyType t) {
  return t == PropertyType::kByte || t == PropertyType::kTwoByteInt ||
         t == PropertyType::kFourByteInt;
}

}  // namespace

bool Properties::Has(PropertyId id) const {
  if (id == PropertyId::kUserProperty) return !user_properties().empty();
  if (id == PropertyId::kSubscriptionIdentifier) return !subscription_ids().empty();
  return (mask_ & Bit(id)) != 0;
}

uint32_t Properties::GetInt(PropertyId id) const {
  const PropertyInfo& info = Info(id);
  if (!IsIntType(info.type) || (mask_ & Bit(id)) == 0) return 0;
  return ints_[info.slot];
}

std::string_view Properties::GetString(PropertyId id) const {
  const PropertyInfo& info = Info(id);
  if (info.type != PropertyType::kUtf8String || (mask_ & Bit(id)) == 0) return {};
  return strs_[info.slot];
}

std::span<const uint8_t> Properties::GetBinary(PropertyId id) const {
  const PropertyInfo& info = Info(id);
  if (info.type != PropertyType::kBinary || (mask_ & Bit(id)) == 0) return {};
  const std::string_view s = strs_[info.slot];
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void Properties::SetInt(PropertyId id, uint32_t value) {
  const PropertyInfo& info = Info(id);
  assert(IsIntType(info.type));
  if (!IsIntType(info.type)) return;
  ints_[info.slot] = value;
  mask_ |= Bit(id);
}

void Properties::SetString(PropertyId id, std::string_view value) {
  const PropertyInfo& info = Info(id);
  assert(info.type == PropertyType::kUtf8String);
  if (info.type != PropertyType::kUtf8String) return;
  strs_[info.slot] = value;
  mask_ |= Bit(id);
}

void Properties::SetBinary(PropertyId id, std::span<const uint8_t> value) {
  const PropertyInfo& info = Info(id);
  assert(info.type == PropertyType::kBinary);
  if (info.type != PropertyType::kBinary) return;
  strs_[info.slot] = {reinterpret_cast<const char*>(value.data()), value.size()};
  mask_ |= Bit(id);
}

void Properties::Clear(PropertyId id) {
  if (id == PropertyId::kUserProperty) {
    user_block_ = {};
    extra_user_ = {};
  } else if (id == PropertyId::kSubscriptionIdentifier) {
    sub_id_block_ = {};
    extra_sub_ids_ = {};
  } else {
    mask_ &= ~Bit(id);
  }
}

bool operator==(const Properties& a, const Properties& b) {
  if (a.mask_ != b.mask_) return false;
  for (uint64_t m = a.mask_; m != 0; m &= m - 1) {
    const auto id = static_cast<PropertyId>(std::countr_zero(m));
    const PropertyInfo& info = Info(id);
    if (IsIntType(info.type)) {
      if (a.ints_[info.slot] != b.ints_[info.slot]) return false;
    } else if (a.strs_[info.slot] != b.strs_[info.slot]) {
      return false;
    }
  }
  const UserPropertyRange au = a.user_properties(), bu = b.user_properties();
  const SubscriptionIdRange as = a.subscription_ids(), bs = b.subscription_ids();
  return std::equal(au.begin(), au.end(), bu.begin(), bu.end()) &&
         std::equal(as.begin(), as.end(), bs.begin(), bs.end());
}

}  // namespace telemq::mqtt
