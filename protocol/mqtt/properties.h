// telemq: the property set of one MQTT 5.0 packet (or of a Will).
//
// A Properties value is either filled by the decoder (views into the packet
// bytes, valid as long as those bytes are) or built by code for an outgoing
// packet (views into caller-owned storage, valid until the packet is
// encoded). It never allocates: strings and binary data are views, and the
// two repeatable properties are iterated in place.
//
//   Properties p;
//   p.SetString(PropertyId::kReasonString, "quota");
//   p.SetInt(PropertyId::kTopicAlias, 7);
//   for (const StringPair& up : incoming.properties.user_properties()) ...
//   p.ForwardUserProperties(incoming.properties);   // view, no copy
//
// Repeatable properties have two sources, iterated in this order:
//   1. the raw property block of a decoded packet (only its User Property /
//      Subscription Identifier entries are visited), and
//   2. a caller-owned array set by set_user_properties / set_subscription_ids.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/mqtt/property_id.h"

namespace telemq::mqtt {

struct StringPair {
  std::string_view name;
  std::string_view value;
  friend bool operator==(const StringPair&, const StringPair&) = default;
};

namespace properties_internal {

// Walks a validated raw property block and stops on entries with `id`.
class BlockCursor {
 public:
  BlockCursor() = default;
  BlockCursor(std::span<const uint8_t> block, PropertyId id)
      : p_(block.data()), end_(block.data() + block.size()), id_(id) {
    Seek();
  }
  bool done() const { return p_ == end_; }
  // The current entry's value bytes (after the identifier).
  const uint8_t* value() const { return p_ + 1; }
  void Next() {
    p_ = Skip(p_);
    Seek();
  }
  bool operator==(const BlockCursor& o) const { return p_ == o.p_; }

 private:
  void Seek() {
    while (p_ != end_ && *p_ != static_cast<uint8_t>(id_)) p_ = Skip(p_);
  }
  static const uint8_t* Skip(const uint8_t* p);  // past one entry

  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  PropertyId id_ = PropertyId::kUserProperty;
};

StringPair ReadStringPair(const uint8_t* p);
uint32_t ReadVarIntValue(const uint8_t* p);

// Iterates block entries, then the extra array. T is StringPair or uint32_t.
template <typename T, PropertyId kId>
class RepeatedRange {
 public:
  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(BlockCursor c, const T* x) : cursor_(c), extra_(x) {}
    T operator*() const {
      if (!cursor_.done()) {
        if constexpr (kId == PropertyId::kUserProperty)
          return ReadStringPair(cursor_.value());
        else
          return ReadVarIntValue(cursor_.value());
      }
      return *extra_;
    }
    iterator& operator++() {
      if (!cursor_.done())
        cursor_.Next();
      else
        ++extra_;
      return *this;
    }
    iterator operator++(int) {
      iterator t = *this;
      ++*this;
      return t;
    }
    bool operator==(const iterator& o) const { return cursor_ == o.cursor_ && extra_ == o.extra_; }

   private:
    BlockCursor cursor_;
    const T* extra_ = nullptr;
  };

  RepeatedRange(std::span<const uint8_t> block, std::span<const T> extra)
      : block_(block), extra_(extra) {}
  iterator begin() const { return {BlockCursor(block_, kId), extra_.data()}; }
  iterator end() const {
    return {BlockCursor(block_.subspan(block_.size()), kId), extra_.data() + extra_.size()};
  }
  bool empty() const { return begin() == end(); }
  size_t size() const {
    size_t n = 0;
    for (auto it = begin(); it != end(); ++it) ++n;
    return n;
  }

 private:
  std::span<const uint8_t> block_;
  std::span<const T> extra_;
};

}  // namespace properties_internal

using UserPropertyRange = properties_internal::RepeatedRange<StringPair, PropertyId::kUserProperty>;
using SubscriptionIdRange =
    properties_internal::RepeatedRange<uint32_t, PropertyId::kSubscriptionIdentifier>;

class Properties {
 public:
  Properties() = default;

  // True when no property at all is present (the encoder then writes a
  // property length of 0, or uses a short form where the packet has one).
  bool empty() const {
    return mask_ == 0 && user_block_.empty() && sub_id_block_.empty() && extra_user_.empty() &&
           extra_sub_ids_.empty();
  }

  // Presence of a single-valued property (for the two repeatable ones: at
  // least one value from either source).
  bool Has(PropertyId id) const;

  // Values; 0 / empty when absent. GetInt serves byte, two-byte, four-byte
  // integer properties; GetString UTF-8 strings; GetBinary binary data.
  uint32_t GetInt(PropertyId id) const;
  std::string_view GetString(PropertyId id) const;
  std::span<const uint8_t> GetBinary(PropertyId id) const;

  // Setters for outgoing packets. `id` must be of the matching type (debug
  // builds assert it); values are not range-checked here.
  void SetInt(PropertyId id, uint32_t value);
  void SetString(PropertyId id, std::string_view value);
  void SetBinary(PropertyId id, std::span<const uint8_t> value);
  void Clear(PropertyId id);

  UserPropertyRange user_properties() const { return {user_block_, extra_user_}; }
  SubscriptionIdRange subscription_ids() const { return {sub_id_block_, extra_sub_ids_}; }

  // Caller-owned arrays appended after any decoded values; they must outlive
  // every use of this Properties (normally: until the packet is encoded).
  void set_user_properties(std::span<const StringPair> pairs) { extra_user_ = pairs; }
  void set_subscription_ids(std::span<const uint32_t> ids) { extra_sub_ids_ = ids; }

  // Makes this set's user properties exactly those of `from` (both of its
  // sources), as views. Used to forward a PUBLISH's user properties.
  void ForwardUserProperties(const Properties& from) {
    user_block_ = from.user_block_;
    extra_user_ = from.extra_user_;
  }
  void ClearRepeated() { user_block_ = sub_id_block_ = {}, extra_user_ = {}, extra_sub_ids_ = {}; }

  // Semantic equality: same single-valued properties and the same sequences
  // of user properties and subscription identifiers, whatever their source.
  friend bool operator==(const Properties& a, const Properties& b);

  // For the decoder: records a validated raw block as the source of the
  // repeatable properties it holds.
  void set_decoded_blocks(std::span<const uint8_t> user, std::span<const uint8_t> sub_ids) {
    user_block_ = user;
    sub_id_block_ = sub_ids;
  }
  // Single-valued presence bits, by identifier (bit = 1 << id).
  uint64_t single_mask() const { return mask_; }

 private:
  uint64_t mask_ = 0;  // single-valued properties only
  uint32_t ints_[kIntSlots] = {};
  std::string_view strs_[kStringSlots] = {};
  std::span<const uint8_t> user_block_;
  std::span<const uint8_t> sub_id_block_;
  std::span<const StringPair> extra_user_;
  std::span<const uint32_t> extra_sub_ids_;
};

}  // namespace telemq::mqtt
