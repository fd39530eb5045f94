// telemq: one value type per MQTT control packet, for 3.1.1 and 5.0 alike.
//
// Fields that 3.1.1 lacks (reason codes, properties) are ignored by the
// encoder for 3.1.1 and left at their defaults by the decoder. Strings and
// binary fields are views: into the received bytes for decoded packets (see
// decoder.h for how long they stay valid), into caller storage for packets
// built to be encoded. Only SUBSCRIBE/SUBACK/UNSUBSCRIBE/UNSUBACK hold lists
// (std::vector: one allocation per such packet, which is rare next to
// PUBLISH; absl::InlinedVector was tried but its moves trip GCC 12's
// -Wmaybe-uninitialized in sanitizer builds of every user). PUBLISH never
// allocates.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/mqtt/properties.h"
#include "protocol/mqtt/types.h"

namespace telemq::mqtt {

// Byte-wise equality of two views (std::span has no operator==).
inline bool BytesEqual(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return std::string_view(reinterpret_cast<const char*>(a.data()), a.size()) ==
         std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

struct Will {
  QoS qos = QoS::kAtMostOnce;
  bool retain = false;
  std::string_view topic;
  std::span<const uint8_t> payload;
  Properties properties;  // 5.0 Will Properties

  friend bool operator==(const Will& a, const Will& b) {
    return a.qos == b.qos && a.retain == b.retain && a.topic == b.topic &&
           BytesEqual(a.payload, b.payload) && a.properties == b.properties;
  }
};

struct Connect {
  ProtocolVersion version = ProtocolVersion::kV5;
  bool clean_start = true;     // "Clean Session" in 3.1.1
  uint16_t keep_alive = 0;     // seconds
  std::string_view client_id;  // may be empty: the session decides
  std::optional<Will> will;
  std::optional<std::string_view> username;
  std::optional<std::span<const uint8_t>> password;
  Properties properties;

  friend bool operator==(const Connect& a, const Connect& b) {
    const bool pw_eq = a.password.has_value() == b.password.has_value() &&
                       (!a.password || BytesEqual(*a.password, *b.password));
    return a.version == b.version && a.clean_start == b.clean_start &&
           a.keep_alive == b.keep_alive && a.client_id == b.client_id && a.will == b.will &&
           a.username == b.username && pw_eq && a.properties == b.properties;
  }
};

// reason_code is in 5.0 terms for both versions: a 3.1.1 return code is
// mapped (types.h ToConnackReturnCode / FromConnackReturnCode).
struct Connack {
  bool session_present = false;
  ReasonCode reason_code = ReasonCode::kSuccess;
  Properties properties;
  friend bool operator==(const Connack&, const Connack&) = default;
};

struct Publish {
  bool dup = false;
  QoS qos = QoS::kAtMostOnce;
  bool retain = false;
  std::string_view topic;  // empty only with a 5.0 Topic Alias
  uint16_t packet_id = 0;  // only for QoS 1 and 2
  Properties properties;
  std::span<const uint8_t> payload;

  friend bool operator==(const Publish& a, const Publish& b) {
    return a.dup == b.dup && a.qos == b.qos && a.retain == b.retain && a.topic == b.topic &&
           a.packet_id == b.packet_id && a.properties == b.properties &&
           BytesEqual(a.payload, b.payload);
  }
};

// PUBACK, PUBREC, PUBREL, PUBCOMP share one layout; the template parameter
// only makes them distinct types in the Packet variant.
template <PacketType kType>
struct PublishAck {
  static constexpr PacketType kPacketType = kType;
  uint16_t packet_id = 0;
  ReasonCode reason_code = ReasonCode::kSuccess;
  Properties properties;
  friend bool operator==(const PublishAck&, const PublishAck&) = default;
};
using Puback = PublishAck<PacketType::kPuback>;
using Pubrec = PublishAck<PacketType::kPubrec>;
using Pubrel = PublishAck<PacketType::kPubrel>;
using Pubcomp = PublishAck<PacketType::kPubcomp>;

enum class RetainHandling : uint8_t {
  kSendAtSubscribe = 0,
  kSendAtNewSubscribe = 1,
  kDoNotSend = 2,
};

struct SubscribeOptions {
  QoS max_qos = QoS::kAtMostOnce;
  bool no_local = false;                                              // 5.0
  bool retain_as_published = false;                                   // 5.0
  RetainHandling retain_handling = RetainHandling::kSendAtSubscribe;  // 5.0
  friend bool operator==(const SubscribeOptions&, const SubscribeOptions&) = default;
};

struct Subscription {
  std::string_view filter;  // may be "$share/group/filter"
  SubscribeOptions options;
  friend bool operator==(const Subscription&, const Subscription&) = default;
};

struct Subscribe {
  uint16_t packet_id = 0;
  Properties properties;
  std::vector<Subscription> subscriptions;
  friend bool operator==(const Subscribe&, const Subscribe&) = default;
};

// One reason code per subscription (3.1.1: 0x00..0x02 or 0x80).
struct Suback {
  uint16_t packet_id = 0;
  Properties properties;
  std::vector<ReasonCode> reason_codes;
  friend bool operator==(const Suback&, const Suback&) = default;
};

struct Unsubscribe {
  uint16_t packet_id = 0;
  Properties properties;
  std::vector<std::string_view> filters;
  friend bool operator==(const Unsubscribe&, const Unsubscribe&) = default;
};

// 3.1.1 UNSUBACK carries no reason codes: decoded with an empty list, and
// the encoder ignores the list.
struct Unsuback {
  uint16_t packet_id = 0;
  Properties properties;
  std::vector<ReasonCode> reason_codes;
  friend bool operator==(const Unsuback&, const Unsuback&) = default;
};

struct Pingreq {
  friend bool operator==(const Pingreq&, const Pingreq&) = default;
};
struct Pingresp {
  friend bool operator==(const Pingresp&, const Pingresp&) = default;
};

struct Disconnect {
  ReasonCode reason_code = ReasonCode::kNormalDisconnection;  // 5.0
  Properties properties;                                      // 5.0
  friend bool operator==(const Disconnect&, const Disconnect&) = default;
};

// 5.0 only.
struct Auth {
  ReasonCode reason_code = ReasonCode::kSuccess;
  Properties properties;
  friend bool operator==(const Auth&, const Auth&) = default;
};

// Alternative index + 1 == PacketType value (Connect is index 0, type 1).
using Packet = std::variant<Connect, Connack, Publish, Puback, Pubrec, Pubrel, Pubcomp, Subscribe,
                            Suback, Unsubscribe, Unsuback, Pingreq, Pingresp, Disconnect, Auth>;

inline PacketType TypeOf(const Packet& p) { return static_cast<PacketType>(p.index() + 1); }

}  // namespace telemq::mqtt
