// Copyright telemq authors.
//
// subscription.h: what the router stores per subscription. A subscriber is a
// shard-local session slot plus the MQTT subscription options that matter
// when a PUBLISH is routed.
#pragma once

#include <cstdint>
#include <limits>

namespace telemq::router {

// The shard's session slot. Dense (the router keeps O(max id) scratch for
// de-duplication).
using SessionId = uint32_t;
// "No local publisher": a message from an M2M device, another shard, $SYS.
inline constexpr SessionId kNoSession = std::numeric_limits<SessionId>::max();

// MQTT 5.0 §3.8.3.1 subscription options (3.1.1 uses only `qos`).
struct SubscriptionOptions {
  uint8_t qos = 0;                   // 0..2, the granted maximum QoS
  bool no_local = false;             // skip messages this session published
  bool retain_as_published = false;  // keep the RETAIN flag on delivery
  // 0..2. Meaningful only at SUBSCRIBE time (sending retained messages), so it
  // is not stored; SubscribeResult::replaced gives what rule 1 needs.
  uint8_t retain_handling = 0;
  uint32_t subscription_id = 0;  // 1..268435455; 0 = none
};

// Stored form: 12 bytes, so an InlinedVector<Subscriber, 1> keeps the common
// single subscriber inline.
struct Subscriber {
  SessionId session = 0;
  uint32_t subscription_id = 0;
  uint8_t qos = 0;
  bool no_local = false;
  bool retain_as_published = false;

  static Subscriber Of(SessionId s, const SubscriptionOptions& o) {
    return {s, o.subscription_id, o.qos, o.no_local, o.retain_as_published};
  }
};

}  // namespace telemq::router
