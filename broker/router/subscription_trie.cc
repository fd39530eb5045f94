// Copyright telemq authors.
#include "broker/router/subscription_trie.h"

#include <algorithm>

namespace telemq::router {

SubscribeResult SubscriptionTrie::Subscribe(SessionId session, std::string_view subscription,
                                            const SubscriptionOptions& options) {
  const FilterSpec spec = ParseFilterSpec(subscription);
  const NodeId n = trie_.Insert(spec.filter);
  ++version_;
  if (session >= seen_.size()) seen_.resize(size_t{session} + 1, 0);
  if (spec.shared()) return SubscribeShared(n, session, spec, options);
  SubscriberList& subs = trie_.value(n);
  for (Subscriber& s : subs) {
    if (s.session == session) {
      s = Subscriber::Of(session, options);
      return {.replaced = true, .interest_added = false};
    }
  }
  const bool first = subs.empty();
  subs.push_back(Subscriber::Of(session, options));
  ++subscription_count_;
  return {.replaced = false, .interest_added = first};
}

SubscribeResult SubscriptionTrie::SubscribeShared(NodeId n, SessionId session,
                                                  const FilterSpec& spec,
                                                  const SubscriptionOptions& options) {
  SharedGroups& groups = shared_.Acquire(trie_.aux(n));
  auto g = std::find_if(groups.begin(), groups.end(),
                        [&](const SharedGroup& x) { return x.name == spec.group; });
  const bool first = g == groups.end();
  if (first) {
    groups.push_back({std::string(spec.group), SharedKeyOf(spec.group, spec.filter), 0, {}});
    g = groups.end() - 1;
  }
  for (Subscriber& m : g->members) {
    if (m.session == session) {
      m = Subscriber::Of(session, options);
      return {.replaced = true, .interest_added = false};
    }
  }
  g->members.push_back(Subscriber::Of(session, options));
  ++subscription_count_;
  return {.replaced = false, .interest_added = first};
}

UnsubscribeResult SubscriptionTrie::Unsubscribe(SessionId session, std::string_view subscription) {
  const FilterSpec spec = ParseFilterSpec(subscription);
  const NodeId n = trie_.Find(spec.filter);
  if (n == kNoNode) return {};
  UnsubscribeResult r;
  if (spec.shared()) {
    r = UnsubscribeShared(n, session, spec.group);
  } else {
    SubscriberList& subs = trie_.value(n);
    auto it = std::find_if(subs.begin(), subs.end(),
                           [&](const Subscriber& s) { return s.session == session; });
    if (it == subs.end()) return {};
    *it = subs.back();  // order of subscribers carries no meaning
    subs.pop_back();
    if (subs.empty()) subs.shrink_to_fit();  // drop a grown heap buffer
    r = {.found = true, .interest_removed = subs.empty()};
  }
  if (!r.found) return r;
  --subscription_count_;
  ++version_;
  trie_.Prune(n);
  return r;
}

UnsubscribeResult SubscriptionTrie::UnsubscribeShared(NodeId n, SessionId session,
                                                      std::string_view group) {
  uint32_t& aux = trie_.aux(n);
  if (aux == 0) return {};
  SharedGroups& groups = shared_[aux];
  auto g = std::find_if(groups.begin(), groups.end(),
                        [&](const SharedGroup& x) { return x.name == group; });
  if (g == groups.end()) return {};
  auto m = std::find_if(g->members.begin(), g->members.end(),
                        [&](const Subscriber& s) { return s.session == session; });
  if (m == g->members.end()) return {};
  // Keep member order so round robin stays fair; fix the cursor.
  const auto index = static_cast<uint32_t>(m - g->members.begin());
  g->members.erase(m);
  if (index < g->cursor) --g->cursor;
  if (g->cursor >= g->members.size()) g->cursor = 0;
  if (!g->members.empty()) return {.found = true, .interest_removed = false};
  groups.erase(g);
  if (groups.empty()) shared_.Release(aux);
  return {.found = true, .interest_removed = true};
}

size_t SubscriptionTrie::UnsubscribeAll(SessionId session,
                                        absl::Span<const std::string_view> subscriptions,
                                        std::vector<std::string_view>* interest_removed) {
  size_t removed = 0;
  for (std::string_view s : subscriptions) {
    const UnsubscribeResult r = Unsubscribe(session, s);
    removed += r.found;
    if (r.interest_removed && interest_removed != nullptr) interest_removed->push_back(s);
  }
  return removed;
}

void SubscriptionTrie::AddDelivery(const Subscriber& s, bool shared, MatchResult* out) {
  auto& deliveries = out->deliveries_;
  uint64_t& seen = seen_[s.session];
  uint32_t index;
  if (!shared && (seen >> 32) == generation_) {
    index = static_cast<uint32_t>(seen);
    Delivery& d = deliveries[index];
    d.qos = std::max(d.qos, s.qos);
    d.retain_as_published |= s.retain_as_published;
  } else {
    index = static_cast<uint32_t>(deliveries.size());
    deliveries.push_back({s.session, s.qos, s.retain_as_published, shared, 0, 0});
    if (!shared) seen = (uint64_t{generation_} << 32) | index;
  }
  if (s.subscription_id != 0) {
    ++deliveries[index].ids_count;
    out->raw_ids_.push_back({index, s.subscription_id});
  }
}

// Groups the identifiers gathered during the walk by delivery (a counting
// sort: prefix sums, then scatter), so each delivery owns a contiguous span.
void SubscriptionTrie::LayOutIds(MatchResult* out) const {
  if (out->raw_ids_.empty()) return;
  uint32_t next = 0;
  for (Delivery& d : out->deliveries_) {
    d.ids_begin = next;
    next += d.ids_count;
    d.ids_count = 0;  // reused as the fill cursor below
  }
  out->ids_.resize(next);
  for (const MatchResult::RawId& r : out->raw_ids_) {
    Delivery& d = out->deliveries_[r.delivery];
    out->ids_[d.ids_begin + d.ids_count++] = r.id;
  }
}

void SubscriptionTrie::EnableMatchCache(size_t max_entries) {
  cache_ = max_entries == 0 ? nullptr : std::make_unique<MatchCache>(max_entries);
}

void SubscriptionTrie::Match(std::string_view topic, SessionId publisher, MatchResult* out,
                             SharedSelection shared) {
  if (cache_ == nullptr) return MatchUncached(topic, publisher, out, shared, nullptr);
  const MatchCache::Entry* e = cache_->Find(topic, version_);
  if (e == nullptr) {
    MatchCache::Entry& fill = cache_->Slot(topic);
    MatchUncached(topic, kNoSession, out, SharedSelection::None(), &fill);
    fill.deliveries.assign(out->deliveries_.begin(), out->deliveries_.end());
    fill.ids.assign(out->ids_.begin(), out->ids_.end());
    fill.version = version_;
    e = &fill;
  }
  if (publisher != kNoSession && std::find(e->no_local_sessions.begin(), e->no_local_sessions.end(),
                                           publisher) != e->no_local_sessions.end()) {
    return MatchUncached(topic, publisher, out, shared, nullptr);  // no_local needs the walk
  }
  out->Clear();
  out->deliveries_.assign(e->deliveries.begin(), e->deliveries.end());
  out->ids_.assign(e->ids.begin(), e->ids.end());
  if (!shared.any()) return;
  for (NodeId n : e->shared_nodes) AppendSharedPicks(n, shared, out);
}

void SubscriptionTrie::AppendSharedPicks(NodeId n, SharedSelection shared, MatchResult* out) {
  for (SharedGroup& g : shared_[trie_.aux(n)]) {
    if (!shared.Allows(g.key)) continue;
    const Subscriber& s = g.members[g.cursor];
    g.cursor = g.cursor + 1 == g.members.size() ? 0 : g.cursor + 1;
    const auto begin = static_cast<uint32_t>(out->ids_.size());
    if (s.subscription_id != 0) out->ids_.push_back(s.subscription_id);
    out->deliveries_.push_back({s.session, s.qos, s.retain_as_published, /*shared=*/true, begin,
                                static_cast<uint32_t>(out->ids_.size()) - begin});
  }
}

void SubscriptionTrie::NextGeneration() {
  if (++generation_ == 0) {  // wrapped: forget every old stamp
    std::fill(seen_.begin(), seen_.end(), 0);
    generation_ = 1;
  }
}

void SubscriptionTrie::MatchUncached(std::string_view topic, SessionId publisher, MatchResult* out,
                                     SharedSelection shared, MatchCache::Entry* fill) {
  out->Clear();
  NextGeneration();
  trie_.Match(topic, &levels_scratch_, [&](NodeId n) { Collect(n, publisher, shared, out, fill); });
  LayOutIds(out);
}

void SubscriptionTrie::Collect(NodeId n, SessionId publisher, SharedSelection shared,
                               MatchResult* out, MatchCache::Entry* fill) {
  for (const Subscriber& s : trie_.value(n)) {
    if (s.no_local) {
      if (s.session == publisher) continue;
      if (fill != nullptr) fill->no_local_sessions.push_back(s.session);
    }
    AddDelivery(s, /*shared=*/false, out);
  }
  const uint32_t aux = trie_.aux(n);
  if (aux == 0) return;
  if (fill != nullptr) fill->shared_nodes.push_back(n);
  if (!shared.any()) return;
  // No-local does not apply: MQTT 5.0 forbids it on shared subscriptions.
  for (SharedGroup& g : shared_[aux]) {
    if (!shared.Allows(g.key)) continue;
    const Subscriber& pick = g.members[g.cursor];
    g.cursor = g.cursor + 1 == g.members.size() ? 0 : g.cursor + 1;
    AddDelivery(pick, /*shared=*/true, out);
  }
}

void SubscriptionTrie::MatchBatch(absl::Span<const MatchRequest> requests,
                                  absl::Span<MatchResult> outs) {
  // 1. Resolve every topic's levels into one array (spans built after, as
  //    the array may grow).
  levels_scratch_.clear();
  batch_offsets_.clear();
  for (const MatchRequest& r : requests) {
    batch_offsets_.push_back(static_cast<uint32_t>(levels_scratch_.size()));
    ForEachLevel(r.topic, [&](std::string_view level) {
      levels_scratch_.push_back(trie_.FindLevel(level));
    });
  }
  batch_offsets_.push_back(static_cast<uint32_t>(levels_scratch_.size()));
  batch_topics_.clear();
  for (size_t i = 0; i < requests.size(); ++i) {
    batch_topics_.push_back({levels_scratch_.data() + batch_offsets_[i],
                             batch_offsets_[i + 1] - batch_offsets_[i],
                             IsDollarTopic(requests[i].topic)});
  }
  // 2. Interleaved walk, collecting (request, node) pairs.
  batch_nodes_.clear();
  trie_.MatchBatch(batch_topics_, &batch_, [&](uint32_t t, NodeId n) {
    batch_nodes_.push_back({t, n});
  });
  // 3. Group the nodes by request (counting sort; offsets reused), then
  //    collect each request's deliveries in request order.
  std::fill(batch_offsets_.begin(), batch_offsets_.end(), 0);
  for (const auto& [t, n] : batch_nodes_) ++batch_offsets_[t + 1];
  for (size_t i = 1; i < batch_offsets_.size(); ++i) batch_offsets_[i] += batch_offsets_[i - 1];
  batch_sorted_.resize(batch_nodes_.size());
  for (const auto& [t, n] : batch_nodes_) batch_sorted_[batch_offsets_[t]++] = n;
  uint32_t begin = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    MatchResult* out = &outs[i];
    out->Clear();
    NextGeneration();
    for (uint32_t k = begin; k < batch_offsets_[i]; ++k) {
      Collect(batch_sorted_[k], requests[i].publisher, requests[i].shared, out, nullptr);
    }
    begin = batch_offsets_[i];
    LayOutIds(out);
  }
}

size_t SubscriptionTrie::MemoryUsage() const {
  size_t bytes = trie_.MemoryUsage() + seen_.capacity() * sizeof(uint64_t) +
                 levels_scratch_.capacity() * sizeof(uint32_t) + shared_.MemoryUsage();
  trie_.ForEachNode([&](NodeId n) {
    const SubscriberList& subs = trie_.value(n);
    if (subs.capacity() > 1) bytes += subs.capacity() * sizeof(Subscriber);
  });
  for (const SharedGroups& groups : shared_.entries()) {
    bytes += groups.capacity() * sizeof(SharedGroup);
    for (const SharedGroup& g : groups) {
      bytes += g.members.capacity() * sizeof(Subscriber);
      if (g.name.capacity() > 15) bytes += g.name.capacity() + 1;
    }
  }
  return bytes;
}

}  // namespace telemq::router
