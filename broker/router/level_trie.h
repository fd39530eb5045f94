// Copyright telemq authors.
//
// level_trie.h: the topic-filter trie both router structures are built on.
// One node per filter level; `+` and `#` children are dedicated fields (no
// lookup), every other child hangs off one trie-wide edge set keyed by
// (parent node, interned level id). A node carries a `Value` chosen by the
// owner (subscriber list, shard mask) and a 32-bit `aux` slot the owner uses
// as an index into its side tables (shared groups); aux == 0 means unused.
//
// Layout (why it is small): a node is 5 x uint32 + aux + Value; nodes live in
// fixed-size chunks addressed by a uint32 id (no pointer per edge, no 2x
// vector regrowth spike); the edge set stores only the child's 4-byte id and
// finds (parent, level) through the node itself.
//
// Matching walks the topic's level ids: at each node it emits the `#` child,
// follows the `+` child and the exact edge, and emits the node reached when
// the topic ends. A topic starting with '$' skips the root's `+` and `#`.
//
// Exactness: Prune() removes a node whose value is empty, aux == 0 and which
// has no children, then its ancestors likewise, and releases their level
// references. With every filter removed the trie is back to a single root and
// an empty level table, and it frees its chunks.
//
// Not thread-safe: one instance belongs to one shard thread. Not movable (the
// edge set's hasher points into the trie).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/types/span.h"
#include "broker/router/level_table.h"
#include "broker/router/topic.h"

namespace telemq::router {

using NodeId = uint32_t;
inline constexpr NodeId kNoNode = 0;  // the root is node 1; 0 is never a child

// Value must be default-constructible and have `bool empty() const`.
template <class Value>
class LevelTrie {
 public:
  struct EdgeKey {
    NodeId parent;
    uint32_t level;
  };

  LevelTrie() : edges_(0, EdgeHash{this}, EdgeEq{this}) { Reset(); }
  LevelTrie(const LevelTrie&) = delete;
  LevelTrie& operator=(const LevelTrie&) = delete;

  static constexpr NodeId kRoot = 1;

  // Returns the node for `filter` (a plain filter, no $share prefix),
  // creating missing nodes and interning levels.
  NodeId Insert(std::string_view filter) {
    NodeId n = kRoot;
    ForEachLevel(filter, [&](std::string_view level) { n = InsertChild(n, level); });
    return n;
  }

  // Returns the node for `filter`, or kNoNode. Never allocates.
  NodeId Find(std::string_view filter) const {
    NodeId n = kRoot;
    ForEachLevel(filter, [&](std::string_view level) {
      if (n == kNoNode) return;
      const Node& node = at(n);
      if (level == "+") {
        n = node.plus;
      } else if (level == "#") {
        n = node.hash;
      } else {
        const uint32_t id = levels_.Find(level);
        n = id == kNoLevel ? kNoNode : FindEdge(n, id);
      }
    });
    return n;
  }

  // Interned id of a topic level, kNoLevel if no filter uses it.
  uint32_t FindLevel(std::string_view level) const { return levels_.Find(level); }

  Value& value(NodeId n) { return at(n).value; }
  const Value& value(NodeId n) const { return at(n).value; }
  uint32_t& aux(NodeId n) { return at(n).aux; }
  uint32_t aux(NodeId n) const { return at(n).aux; }

  // Removes `n` and its ancestors while they hold nothing (see top comment).
  void Prune(NodeId n) {
    while (n != kRoot) {
      const Node& node = at(n);
      if (!node.value.empty() || node.aux != 0 || node.child_count != 0) return;
      const NodeId parent = node.parent;
      Node& p = at(parent);
      if (p.plus == n) {
        p.plus = kNoNode;
      } else if (p.hash == n) {
        p.hash = kNoNode;
      } else {
        edges_.erase(n);  // hashes through node.parent/level: still intact
        levels_.Release(node.level);
      }
      --p.child_count;
      FreeNode(n);
      n = parent;
    }
    if (live_nodes_ == 1) Reset();  // back to empty: return the memory
  }

  // Splits `topic` into level ids (kNoLevel for levels never subscribed) in
  // `scratch`, then calls `emit(NodeId)` once for every node whose filter
  // matches the topic (the node may hold an empty value). Allocation-free
  // once `scratch` has grown to the deepest topic.
  template <class Emit>
  void Match(std::string_view topic, std::vector<uint32_t>* scratch, Emit&& emit) const {
    scratch->clear();
    ForEachLevel(topic, [&](std::string_view level) { scratch->push_back(levels_.Find(level)); });
    const Node& root = at(kRoot);
    const uint32_t* lv = scratch->data();
    const size_t count = scratch->size();
    if (!IsDollarTopic(topic)) {
      if (root.hash != kNoNode) emit(root.hash);
      if (root.plus != kNoNode) Walk(root.plus, lv, 1, count, emit);
    }
    if (lv[0] != kNoLevel) {
      const NodeId c = FindEdge(kRoot, lv[0]);
      if (c != kNoNode) Walk(c, lv, 1, count, emit);
    }
  }

  // A resolved topic for MatchBatch: its level ids and whether it starts
  // with '$'.
  struct TopicLevels {
    const uint32_t* levels;
    uint32_t count;  // >= 1
    bool dollar;
  };
  // Reusable scratch of MatchBatch (one per owner; keeps capacity).
  struct BatchScratch {
    struct State {
      uint32_t topic, depth;
      NodeId node;
    };
    struct Lookup {
      uint32_t topic, depth;
      EdgeKey key;
    };
    std::vector<State> cur, next;
    std::vector<Lookup> lookups;
  };

  // Batch form of Match: calls emit(topic index, NodeId) for the same nodes
  // as Match would for each topic, in another order. It walks all topics
  // level by level and prefetches every edge lookup and node of a round
  // before using them, so the cache misses of different topics overlap
  // instead of forming one dependent chain per topic (the walk of a big trie
  // is bound by memory latency).
  template <class Emit>
  void MatchBatch(absl::Span<const TopicLevels> topics, BatchScratch* b, Emit&& emit) const {
    b->cur.clear();
    b->next.clear();
    b->lookups.clear();
    const Node& root = at(kRoot);
    for (uint32_t t = 0; t < topics.size(); ++t) {
      if (!topics[t].dollar) {
        if (root.hash != kNoNode) Emit1(t, root.hash, emit);
        if (root.plus != kNoNode) b->next.push_back({t, 1, root.plus});
      }
      if (topics[t].levels[0] != kNoLevel) {
        b->lookups.push_back({t, 1, {kRoot, topics[t].levels[0]}});
      }
    }
    while (true) {
      for (const auto& l : b->lookups) edges_.prefetch(l.key);
      for (const auto& l : b->lookups) {
        const NodeId c = FindEdge(l.key.parent, l.key.level);
        if (c == kNoNode) continue;
        __builtin_prefetch(&at(c));
        b->next.push_back({l.topic, l.depth, c});
      }
      b->lookups.clear();
      if (b->next.empty()) return;
      b->cur.swap(b->next);
      b->next.clear();
      for (const auto& s : b->cur) {
        const Node& node = at(s.node);
        if (node.hash != kNoNode) Emit1(s.topic, node.hash, emit);
        const TopicLevels& tl = topics[s.topic];
        if (s.depth == tl.count) {
          emit(s.topic, s.node);
          continue;
        }
        if (node.plus != kNoNode) {
          __builtin_prefetch(&at(node.plus));
          b->next.push_back({s.topic, s.depth + 1, node.plus});
        }
        if (tl.levels[s.depth] != kNoLevel) {
          b->lookups.push_back({s.topic, s.depth + 1, {s.node, tl.levels[s.depth]}});
        }
      }
    }
  }

  // Calls f(NodeId) for every live node (stats, tests).
  template <class F>
  void ForEachNode(F&& f) const {
    for (NodeId n = 1; n < next_unused_; ++n) {
      if (at(n).child_count != kFree) f(n);
    }
  }

  size_t node_count() const { return live_nodes_; }  // includes the root
  size_t edge_count() const { return edges_.size(); }
  size_t level_count() const { return levels_.size(); }
  // Heap bytes of nodes, edges and levels; Value's own heap is the owner's.
  size_t MemoryUsage() const {
    return chunks_.capacity() * sizeof(void*) + chunks_.size() * kChunkSize * sizeof(Node) +
           edges_.capacity() * (sizeof(NodeId) + 1) + levels_.MemoryUsage();
  }

 private:
  static constexpr uint32_t kChunkBits = 10;  // 1024 nodes per chunk
  static constexpr uint32_t kChunkSize = 1u << kChunkBits;
  static constexpr uint32_t kFree = 0xFFFFFFFFu;  // child_count of a free node

  struct Node {
    uint32_t parent = kNoNode;  // doubles as the free-list link
    uint32_t level = kNoLevel;  // edge level; kNoLevel for +, # and root
    NodeId plus = kNoNode;
    NodeId hash = kNoNode;
    uint32_t child_count = 0;  // edges + plus + hash
    uint32_t aux = 0;          // owner's side-table index; 0 = none
    Value value{};
  };

  static size_t HashKey(EdgeKey k) {
    return absl::Hash<uint64_t>{}((uint64_t{k.parent} << 32) | k.level);
  }
  struct EdgeHash {
    using is_transparent = void;
    const LevelTrie* trie;
    size_t operator()(EdgeKey k) const { return HashKey(k); }
    size_t operator()(NodeId n) const { return HashKey(trie->KeyOf(n)); }
  };
  struct EdgeEq {
    using is_transparent = void;
    const LevelTrie* trie;
    EdgeKey Key(EdgeKey k) const { return k; }
    EdgeKey Key(NodeId n) const { return trie->KeyOf(n); }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      const EdgeKey x = Key(a), y = Key(b);
      return x.parent == y.parent && x.level == y.level;
    }
  };

  Node& at(NodeId n) { return chunks_[n >> kChunkBits][n & (kChunkSize - 1)]; }
  const Node& at(NodeId n) const { return chunks_[n >> kChunkBits][n & (kChunkSize - 1)]; }
  EdgeKey KeyOf(NodeId n) const { return {at(n).parent, at(n).level}; }

  NodeId FindEdge(NodeId parent, uint32_t level) const {
    auto it = edges_.find(EdgeKey{parent, level});
    return it == edges_.end() ? kNoNode : *it;
  }

  NodeId InsertChild(NodeId parent, std::string_view level) {
    if (level == "+" || level == "#") {
      NodeId existing = level == "+" ? at(parent).plus : at(parent).hash;
      if (existing != kNoNode) return existing;
      const NodeId c = AllocNode(parent, kNoLevel);
      (level == "+" ? at(parent).plus : at(parent).hash) = c;
      ++at(parent).child_count;
      return c;
    }
    const uint32_t known = levels_.Find(level);
    if (known != kNoLevel) {
      const NodeId c = FindEdge(parent, known);
      if (c != kNoNode) return c;
    }
    const uint32_t id = levels_.Acquire(level);
    const NodeId c = AllocNode(parent, id);
    edges_.insert(c);  // hashes through the node's parent/level set above
    ++at(parent).child_count;
    return c;
  }

  NodeId AllocNode(NodeId parent, uint32_t level) {
    NodeId n;
    if (free_head_ != kNoNode) {
      n = free_head_;
      free_head_ = at(n).parent;
    } else {
      if ((next_unused_ >> kChunkBits) == chunks_.size()) {
        chunks_.push_back(std::make_unique<Node[]>(kChunkSize));
      }
      n = next_unused_++;
    }
    Node& node = at(n);  // fresh or freed: its value is default-constructed
    node.parent = parent;
    node.level = level;
    node.plus = node.hash = kNoNode;
    node.child_count = 0;
    node.aux = 0;
    ++live_nodes_;
    return n;
  }

  void FreeNode(NodeId n) {
    Node& node = at(n);
    // Destroy + construct rather than assign: drops the value's heap, if any
    // (and avoids a gcc 12 -Wmaybe-uninitialized false positive on moves).
    std::destroy_at(&node.value);
    std::construct_at(&node.value);
    node.parent = free_head_;
    node.child_count = kFree;
    free_head_ = n;
    --live_nodes_;
  }

  void Reset() {
    chunks_.clear();
    chunks_.shrink_to_fit();
    edges_ = decltype(edges_)(0, EdgeHash{this}, EdgeEq{this});
    free_head_ = kNoNode;
    next_unused_ = 0;
    live_nodes_ = 0;
    AllocNode(kNoNode, kNoLevel);  // node 0: never used, so kNoNode means "none"
    AllocNode(kNoNode, kNoLevel);  // node 1: the root
    at(0).child_count = kFree;
    live_nodes_ = 1;
  }

  // Emits a `#` node, prefetching it for the caller's value read.
  template <class Emit>
  void Emit1(uint32_t topic, NodeId n, Emit& emit) const {
    __builtin_prefetch(&at(n));
    emit(topic, n);
  }

  template <class Emit>
  void Walk(NodeId n, const uint32_t* lv, size_t i, size_t count, Emit& emit) const {
    const Node& node = at(n);
    if (node.hash != kNoNode) emit(node.hash);  // `#` also matches the parent level
    if (i == count) {
      emit(n);
      return;
    }
    if (node.plus != kNoNode) Walk(node.plus, lv, i + 1, count, emit);
    if (lv[i] != kNoLevel) {
      const NodeId c = FindEdge(n, lv[i]);
      if (c != kNoNode) Walk(c, lv, i + 1, count, emit);
    }
  }

  std::vector<std::unique_ptr<Node[]>> chunks_;
  NodeId free_head_ = kNoNode;
  NodeId next_unused_ = 0;
  size_t live_nodes_ = 0;
  LevelTable levels_;
  absl::flat_hash_set<NodeId, EdgeHash, EdgeEq> edges_;
};

}  // namespace telemq::router
