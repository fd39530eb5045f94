// Copyright telemq authors.
//
// subscription_trie.h: the subscriptions of one shard's own sessions, and
// the PUBLISH-time match over them. Part (a) of DESIGN.md decision 3.
//
//   SubscriptionTrie subs;
//   MatchResult out;                        // reuse: no allocation per match
//   auto r = subs.Subscribe(7, "site1/+/temp", {.qos = 1});
//   if (r.interest_added) BroadcastInterestAdd("site1/+/temp", my_shard);
//   subs.Match("site1/b2/temp", kNoSession, &out);
//   for (const Delivery& d : out.deliveries()) Enqueue(d.session, d.qos, ...);
//
// Rules implemented (MQTT 3.1.1 §4.7, 5.0 §4.7-4.8): `+` matches exactly one
// level (possibly empty), `#` matches the parent and any number of levels, a
// topic starting with '$' is not matched by a leading `+`/`#`; overlapping
// subscriptions of a session are delivered once (see match_result.h);
// no_local skips the publisher's own ordinary subscriptions; a re-SUBSCRIBE
// of a session to the same filter replaces its options; `$share/g/f` members
// receive each matching message one member per group, round robin.
//
// "Interest" is per subscription string: the shard's interest in a plain
// filter `f` exists while some local session subscribes to `f`; its interest
// in `$share/g/f` exists while some local session is a member of group g on
// f. Subscribe/Unsubscribe report when it appears/disappears so the caller
// updates the other shards' InterestTrie replicas (interest_trie.h).
//
// Single-threaded (the shard thread), no locks, no exceptions. Inputs are
// filters and topic names already validated by the codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"
#include "broker/router/level_trie.h"
#include "broker/router/match_cache.h"
#include "broker/router/match_result.h"
#include "broker/router/side_table.h"
#include "broker/router/subscription.h"
#include "broker/router/topic.h"

namespace telemq::router {

struct SubscribeResult {
  bool replaced = false;        // the session already had this subscription
  bool interest_added = false;  // first local subscriber of this string
};

struct UnsubscribeResult {
  bool found = false;             // the session had this subscription
  bool interest_removed = false;  // it was the last local subscriber
};

// Which shared groups a Match serves. On a single shard, or on the shard the
// publisher picked for every group, All(); on a shard that received a message
// only for some groups (interest_trie.h), Only(those keys); None() to skip
// shared subscriptions entirely. Only() does not own the keys.
class SharedSelection {
 public:
  static SharedSelection All() { return SharedSelection(Mode::kAll, {}); }
  static SharedSelection None() { return SharedSelection(Mode::kNone, {}); }
  static SharedSelection Only(absl::Span<const SharedGroupKey> keys) {
    return SharedSelection(Mode::kOnly, keys);
  }
  bool any() const { return mode_ != Mode::kNone; }
  bool Allows(SharedGroupKey key) const {
    if (mode_ != Mode::kOnly) return mode_ == Mode::kAll;
    for (SharedGroupKey k : keys_) {
      if (k == key) return true;
    }
    return false;
  }

 private:
  enum class Mode { kAll, kNone, kOnly };
  SharedSelection(Mode m, absl::Span<const SharedGroupKey> keys) : mode_(m), keys_(keys) {}
  Mode mode_;
  absl::Span<const SharedGroupKey> keys_;
};

// One publish of a MatchBatch.
struct MatchRequest {
  std::string_view topic;
  SessionId publisher = kNoSession;
  SharedSelection shared = SharedSelection::All();
};

class SubscriptionTrie {
 public:
  SubscriptionTrie() = default;
  SubscriptionTrie(const SubscriptionTrie&) = delete;
  SubscriptionTrie& operator=(const SubscriptionTrie&) = delete;

  // `subscription` is a filter or `$share/<group>/<filter>`.
  SubscribeResult Subscribe(SessionId session, std::string_view subscription,
                            const SubscriptionOptions& options);
  UnsubscribeResult Unsubscribe(SessionId session, std::string_view subscription);

  // Session end. The router keeps no per-session reverse index (it would cost
  // ~16 bytes per subscription); the session layer already holds the list of
  // its subscription strings (for SUBACK, persistence, takeover) and passes
  // it here. Appends to `interest_removed` (if not null) the strings whose
  // shard interest disappeared (views into `subscriptions`). Returns how many
  // subscriptions were removed.
  size_t UnsubscribeAll(SessionId session, absl::Span<const std::string_view> subscriptions,
                        std::vector<std::string_view>* interest_removed);

  // Fills `out` (cleared first) with the deliveries for a PUBLISH on `topic`.
  // `publisher` is the publishing session on this shard (for no_local), or
  // kNoSession. Not const: it advances shared-group round-robin cursors.
  void Match(std::string_view topic, SessionId publisher, MatchResult* out,
             SharedSelection shared = SharedSelection::All());

  // Same result as Match for each request, into outs[i] (outs.size() >=
  // requests.size()), but the trie walks of the batch are interleaved so
  // their memory latencies overlap (level_trie.h): the form to use for the
  // publishes of one loop turn. Shared picks happen in request order. Does
  // not use the match cache.
  void MatchBatch(absl::Span<const MatchRequest> requests, absl::Span<MatchResult> outs);

  // Turns on the per-shard match cache (match_cache.h), bounded to
  // `max_entries` topics; 0 turns it off. Results are identical with and
  // without it (the differential test runs both).
  void EnableMatchCache(size_t max_entries);

  // Bumped by every change that can alter a match result (for match caches).
  uint64_t version() const { return version_; }
  size_t subscription_count() const { return subscription_count_; }
  size_t node_count() const { return trie_.node_count(); }
  size_t level_count() const { return trie_.level_count(); }
  // Heap bytes held by the structure (capacity based, see docs/router.md),
  // excluding the match cache (reported apart: it is a tunable).
  size_t MemoryUsage() const;
  size_t MatchCacheMemoryUsage() const { return cache_ ? cache_->MemoryUsage() : 0; }

 private:
  using SubscriberList = absl::InlinedVector<Subscriber, 1>;
  struct SharedGroup {
    std::string name;
    SharedGroupKey key = 0;
    uint32_t cursor = 0;  // next member to pick, round robin
    std::vector<Subscriber> members;
  };
  using SharedGroups = std::vector<SharedGroup>;  // of one filter node

  // The walk; with `fill` it also records into a cache entry (and then must
  // run with publisher kNoSession and no shared picks).
  void MatchUncached(std::string_view topic, SessionId publisher, MatchResult* out,
                     SharedSelection shared, MatchCache::Entry* fill);
  // Adds the subscribers and shared picks of one matching node.
  void Collect(NodeId n, SessionId publisher, SharedSelection shared, MatchResult* out,
               MatchCache::Entry* fill);
  void NextGeneration();
  void AddDelivery(const Subscriber& s, bool shared, MatchResult* out);
  // Appends one shared pick with its identifier laid out directly.
  void AppendSharedPicks(NodeId n, SharedSelection shared, MatchResult* out);
  void LayOutIds(MatchResult* out) const;
  SubscribeResult SubscribeShared(NodeId n, SessionId session, const FilterSpec& spec,
                                  const SubscriptionOptions& options);
  UnsubscribeResult UnsubscribeShared(NodeId n, SessionId session, std::string_view group);

  LevelTrie<SubscriberList> trie_;
  SideTable<SharedGroups> shared_;  // groups of the nodes that have some, by node aux
  // De-duplication scratch: per session, (match generation << 32 | index of
  // its Delivery); a session is "seen" when the generation is current.
  std::vector<uint64_t> seen_;
  uint32_t generation_ = 0;
  std::vector<uint32_t> levels_scratch_;
  // MatchBatch scratch: resolved levels, per-topic spans, emitted nodes.
  std::vector<uint32_t> batch_offsets_;
  std::vector<LevelTrie<SubscriberList>::TopicLevels> batch_topics_;
  std::vector<std::pair<uint32_t, NodeId>> batch_nodes_;
  std::vector<NodeId> batch_sorted_;
  LevelTrie<SubscriberList>::BatchScratch batch_;
  uint64_t version_ = 0;
  size_t subscription_count_ = 0;
  std::unique_ptr<MatchCache> cache_;  // null: no cache
};

}  // namespace telemq::router
