// Copyright telemq authors.
//
// interest_trie.h: each shard's replica of the global interest map: which
// shards have at least one local subscriber for a subscription string. Part
// (b) of DESIGN.md decision 3. Up to 64 shards (one bit each).
//
// Protocol across shards (see docs/router.md):
//  1. A shard's SubscriptionTrie reports interest_added / interest_removed
//     for a subscription string s (a filter or `$share/g/f`). The shard
//     applies Add(s, self) / Remove(s, self) to its own replica and sends the
//     same change to every other shard through the mailboxes; each applies it
//     to its replica. Changes from one shard arrive in order (SPSC ring), and
//     a bit is owned by one shard, so replicas converge.
//  2. On PUBLISH, the publishing shard calls Match(topic, &m):
//       m.shards: shards with ordinary subscribers: each gets the message.
//       m.shared: per matching (group, filter), the shards having members.
//     For each entry it picks ONE shard (SharedShardPicker: the shards with
//     members take turns), and sends the message to that shard tagged with the
//     entry's key. Each message is thus sent once per target shard, with the
//     list of group keys that shard must serve.
//  3. A target shard calls SubscriptionTrie::Match(topic, publisher, &out,
//     SharedSelection::Only(keys)) (the publisher shard itself uses the keys
//     it picked for itself), which picks one local member per listed group.
//
// Single-threaded (the owning shard), no locks, no exceptions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "broker/router/level_trie.h"
#include "broker/router/side_table.h"
#include "broker/router/topic.h"

namespace telemq::router {

using ShardMask = uint64_t;  // bit i = shard i

struct SharedInterest {
  SharedGroupKey key = 0;  // SharedKeyOf(group, filter), as SharedSelection expects
  ShardMask shards = 0;    // shards with at least one member; never 0
};

// Reusable result of InterestTrie::Match (cleared by it; keeps capacity).
struct InterestMatch {
  ShardMask shards = 0;                // OR of every matching plain filter
  std::vector<SharedInterest> shared;  // one per matching (group, filter)
  void Clear() {
    shards = 0;
    shared.clear();
  }
};

// The (rotation % popcount)-th set bit of `mask`, which must not be 0.
uint32_t PickShard(ShardMask mask, uint32_t rotation);

// Picks the shard that serves a shared group for one message: the shards
// having members take turns, each group on its own count. A member on the
// publisher's own shard gets no more than its shard's turn, so a group's
// members share the load wherever its publishers are connected (preferring
// the local shard sent a single publisher's whole stream to its local
// members). Turns are per shard: members within one shard then take turns,
// so two members on one shard and one on another get 1/4, 1/4 and 1/2.
class SharedShardPicker {
 public:
  uint32_t Pick(const SharedInterest& interest) {
    if ((interest.shards & (interest.shards - 1)) == 0) return PickShard(interest.shards, 0);
    // Bounded: past this many groups the counts start over (a fresh turn
    // order, nothing lost).
    if (next_.size() >= kMaxGroups && !next_.contains(interest.key)) next_.clear();
    return PickShard(interest.shards, next_[interest.key]++);
  }

 private:
  static constexpr size_t kMaxGroups = 4096;
  absl::flat_hash_map<SharedGroupKey, uint32_t> next_;
};

class InterestTrie {
 public:
  InterestTrie() = default;
  InterestTrie(const InterestTrie&) = delete;
  InterestTrie& operator=(const InterestTrie&) = delete;

  // `subscription` is a filter or `$share/<group>/<filter>`; shard < 64.
  // Return whether the bit changed (false: already set / already clear).
  bool Add(std::string_view subscription, uint32_t shard);
  bool Remove(std::string_view subscription, uint32_t shard);

  void Match(std::string_view topic, InterestMatch* out) const;

  // Caches Match results per topic, at most `max_entries` (0: off). An entry
  // is valid while version() is unchanged; every bit change bumps it. The
  // cache is a mutable member of this single-threaded object.
  void EnableMatchCache(size_t max_entries) {
    cache_max_ = max_entries;
    cache_.clear();
  }
  uint64_t version() const { return version_; }

  size_t node_count() const { return trie_.node_count(); }
  size_t level_count() const { return trie_.level_count(); }
  size_t MemoryUsage() const;

 private:
  struct Mask {
    ShardMask bits = 0;
    bool empty() const { return bits == 0; }
  };
  struct SharedEntry {
    std::string group;
    SharedInterest interest;
  };
  using SharedEntries = std::vector<SharedEntry>;

  struct CachedMatch {
    uint64_t version = 0;
    InterestMatch match;
  };
  void MatchUncached(std::string_view topic, InterestMatch* out) const;

  LevelTrie<Mask> trie_;
  uint64_t version_ = 0;
  size_t cache_max_ = 0;
  mutable absl::flat_hash_map<std::string, CachedMatch> cache_;
  SideTable<SharedEntries> shared_;  // by node aux
  mutable std::vector<uint32_t> levels_scratch_;
};

}  // namespace telemq::router
