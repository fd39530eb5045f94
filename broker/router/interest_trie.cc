// Copyright telemq authors.
#include "broker/router/interest_trie.h"

#include <algorithm>
#include <bit>

namespace telemq::router {

uint32_t PickShard(ShardMask mask, uint32_t rotation) {
  uint32_t skip = rotation % static_cast<uint32_t>(std::popcount(mask));
  while (skip-- != 0) mask &= mask - 1;  // drop the lowest set bit
  return static_cast<uint32_t>(std::countr_zero(mask));
}

bool InterestTrie::Add(std::string_view subscription, uint32_t shard) {
  const ShardMask bit = ShardMask{1} << shard;
  const FilterSpec spec = ParseFilterSpec(subscription);
  const NodeId n = trie_.Insert(spec.filter);
  if (!spec.shared()) {
    ShardMask& bits = trie_.value(n).bits;
    const bool changed = (bits & bit) == 0;
    bits |= bit;
    version_ += changed;
    return changed;
  }
  SharedEntries& entries = shared_.Acquire(trie_.aux(n));
  auto e = std::find_if(entries.begin(), entries.end(),
                        [&](const SharedEntry& x) { return x.group == spec.group; });
  if (e == entries.end()) {
    entries.push_back({std::string(spec.group), {SharedKeyOf(spec.group, spec.filter), 0}});
    e = entries.end() - 1;
  }
  const bool changed = (e->interest.shards & bit) == 0;
  e->interest.shards |= bit;
  version_ += changed;
  return changed;
}

bool InterestTrie::Remove(std::string_view subscription, uint32_t shard) {
  const ShardMask bit = ShardMask{1} << shard;
  const FilterSpec spec = ParseFilterSpec(subscription);
  const NodeId n = trie_.Find(spec.filter);
  if (n == kNoNode) return false;
  bool changed = false;
  if (!spec.shared()) {
    ShardMask& bits = trie_.value(n).bits;
    changed = (bits & bit) != 0;
    bits &= ~bit;
  } else if (uint32_t& aux = trie_.aux(n); aux != 0) {
    SharedEntries& entries = shared_[aux];
    auto e = std::find_if(entries.begin(), entries.end(),
                          [&](const SharedEntry& x) { return x.group == spec.group; });
    if (e != entries.end()) {
      changed = (e->interest.shards & bit) != 0;
      e->interest.shards &= ~bit;
      if (e->interest.shards == 0) entries.erase(e);
      if (entries.empty()) shared_.Release(aux);
    }
  }
  trie_.Prune(n);
  version_ += changed;
  return changed;
}

void InterestTrie::Match(std::string_view topic, InterestMatch* out) const {
  if (cache_max_ == 0) {
    MatchUncached(topic, out);
    return;
  }
  // This Abseil build has its own string_view type; its string hash takes it.
  const absl::string_view key(topic.data(), topic.size());
  if (auto it = cache_.find(key); it != cache_.end() && it->second.version == version_) {
    out->shards = it->second.match.shards;
    out->shared = it->second.match.shared;
    return;
  }
  MatchUncached(topic, out);
  if (cache_.size() >= cache_max_ && !cache_.contains(key)) cache_.clear();
  CachedMatch& entry = cache_[key];
  entry.version = version_;
  entry.match.shards = out->shards;
  entry.match.shared = out->shared;
}

void InterestTrie::MatchUncached(std::string_view topic, InterestMatch* out) const {
  out->Clear();
  trie_.Match(topic, &levels_scratch_, [&](NodeId n) {
    out->shards |= trie_.value(n).bits;
    const uint32_t aux = trie_.aux(n);
    if (aux == 0) return;
    for (const SharedEntry& e : shared_[aux]) out->shared.push_back(e.interest);
  });
}

size_t InterestTrie::MemoryUsage() const {
  size_t bytes =
      trie_.MemoryUsage() + shared_.MemoryUsage() + levels_scratch_.capacity() * sizeof(uint32_t);
  for (const SharedEntries& entries : shared_.entries()) {
    bytes += entries.capacity() * sizeof(SharedEntry);
    for (const SharedEntry& e : entries) {
      if (e.group.capacity() > 15) bytes += e.group.capacity() + 1;
    }
  }
  return bytes;
}

}  // namespace telemq::router
