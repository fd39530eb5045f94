// Copyright telemq authors.
//
// match_cache.h: an optional per-shard cache from topic name to the
// publisher-independent part of a match result (SubscriptionTrie owns it;
// see SubscriptionTrie::EnableMatchCache). Telemetry topics repeat endlessly,
// so a hit replaces the trie walk (several dependent cache misses over a big
// edge table) by one hash lookup and a copy of the deliveries.
//
// What an entry holds, and why it stays correct:
//  - the ordinary deliveries and identifiers computed for publisher
//    kNoSession, valid while `version` equals the trie's version (every
//    subscribe/unsubscribe bumps it, so stale entries are recomputed lazily);
//  - the sessions having a matching no_local subscription: a publish by one
//    of them bypasses the cache (the rule needs the walk);
//  - the matching nodes that carry shared groups: picks are made per message
//    (round robin), never cached.
// Bounded: when `max_entries` is reached the whole cache is dropped (simple,
// and a full cache at steady state means the working set exceeds it anyway).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "broker/router/level_trie.h"
#include "broker/router/match_result.h"
#include "broker/router/subscription.h"

namespace telemq::router {

class MatchCache {
 public:
  struct Entry {
    uint64_t version = 0;
    std::vector<Delivery> deliveries;
    std::vector<uint32_t> ids;
    std::vector<NodeId> shared_nodes;
    std::vector<SessionId> no_local_sessions;
  };

  explicit MatchCache(size_t max_entries) : max_entries_(max_entries) {}

  // Entry for `topic` if present and current, else nullptr.
  const Entry* Find(std::string_view topic, uint64_t version) const {
    auto it = entries_.find(Key(topic));
    return it == entries_.end() || it->second.version != version ? nullptr : &it->second;
  }
  // Entry for `topic` to (re)fill, emptied; may drop the whole cache first.
  Entry& Slot(std::string_view topic) {
    if (entries_.size() >= max_entries_ && !entries_.contains(Key(topic))) entries_.clear();
    Entry& e = entries_[Key(topic)];
    e.deliveries.clear();
    e.ids.clear();
    e.shared_nodes.clear();
    e.no_local_sessions.clear();
    return e;
  }

  size_t size() const { return entries_.size(); }
  size_t MemoryUsage() const {
    size_t bytes = entries_.capacity() * (sizeof(std::pair<std::string, Entry>) + 1);
    for (const auto& [topic, e] : entries_) {
      if (topic.capacity() > 15) bytes += topic.capacity() + 1;
      bytes += e.deliveries.capacity() * sizeof(Delivery) + e.ids.capacity() * sizeof(uint32_t) +
               e.shared_nodes.capacity() * sizeof(NodeId) +
               e.no_local_sessions.capacity() * sizeof(SessionId);
    }
    return bytes;
  }

 private:
  // This Abseil build has its own string_view type; its string hash takes it.
  static absl::string_view Key(std::string_view s) { return {s.data(), s.size()}; }

  size_t max_entries_;
  absl::flat_hash_map<std::string, Entry> entries_;
};

}  // namespace telemq::router
