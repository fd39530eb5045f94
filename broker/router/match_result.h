// Copyright telemq authors.
//
// match_result.h: the reusable output of SubscriptionTrie::Match.
//
// One Delivery per session for its ordinary (non-shared) subscriptions:
// overlapping matches are merged into one copy, at the highest QoS among
// them (MQTT 3.1.1 §3.3.5, 5.0 §3.3.4), with the subscription identifiers of
// every matching subscription (5.0 §3.3.4), and retain_as_published set when
// any matching subscription asked for it (5.0 leaves the choice open; OR
// never drops a RETAIN flag a subscriber asked to keep).
// Shared subscriptions give one separate Delivery (shared == true) per
// matching group: a session may thus receive the same message twice, once
// as a group member and once as an ordinary subscriber, as MQTT 5.0 §4.8.2
// allows (they are different subscriptions).
//
// Reuse one MatchResult per shard: Match() clears it and keeps the capacity,
// so steady-state matching does not allocate. Views returned stay valid until
// the next Match() into the same object.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "broker/router/subscription.h"

namespace telemq::router {

struct Delivery {
  SessionId session = 0;
  uint8_t qos = 0;  // max over the matching subscriptions
  bool retain_as_published = false;
  bool shared = false;     // a shared-group pick (never merged with others)
  uint32_t ids_begin = 0;  // into MatchResult's id array
  uint32_t ids_count = 0;
};

class MatchResult {
 public:
  absl::Span<const Delivery> deliveries() const { return deliveries_; }
  // Subscription identifiers to put in this delivery's PUBLISH (any order).
  absl::Span<const uint32_t> subscription_ids(const Delivery& d) const {
    return absl::MakeConstSpan(ids_).subspan(d.ids_begin, d.ids_count);
  }
  size_t size() const { return deliveries_.size(); }
  bool empty() const { return deliveries_.empty(); }
  void Clear() {
    deliveries_.clear();
    ids_.clear();
    raw_ids_.clear();
  }

 private:
  friend class SubscriptionTrie;  // the only writer

  struct RawId {
    uint32_t delivery;
    uint32_t id;
  };
  std::vector<Delivery> deliveries_;
  std::vector<uint32_t> ids_;
  std::vector<RawId> raw_ids_;  // gathered during the walk, then grouped
};

}  // namespace telemq::router
