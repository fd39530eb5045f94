// Copyright telemq authors.
//
// level_table.h: interns topic level strings ("site17", "temp", "") to dense
// uint32 ids with reference counts, so the tries compare and hash integers.
//
// Ownership: one table per trie (per shard, single-threaded, no locks). Each
// trie edge holds one reference to its level; when the last reference goes
// the string is dropped and its id reused, so add/remove is exact.
//
// Memory: one Entry (std::string + refcount) per distinct level plus one
// 4-byte slot in an id set whose hash/equality look the string up through the
// id (the set stores no second copy of the key).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"

namespace telemq::router {

inline constexpr uint32_t kNoLevel = 0xFFFFFFFFu;

class LevelTable {
 public:
  LevelTable();
  LevelTable(const LevelTable&) = delete;
  LevelTable& operator=(const LevelTable&) = delete;

  // Returns the id of `level`, or kNoLevel if it is not interned. Never
  // allocates: this is what a PUBLISH uses (an unknown level can only be
  // matched by `+` or `#`).
  uint32_t Find(std::string_view level) const {
    auto it = ids_.find(level);
    return it == ids_.end() ? kNoLevel : *it;
  }

  // Interns `level` (or finds it) and takes one reference.
  uint32_t Acquire(std::string_view level);
  // Drops one reference taken by Acquire; frees the id on the last one.
  void Release(uint32_t id);

  size_t size() const { return ids_.size(); }
  // Heap bytes owned by the table (capacity based; see docs/router.md).
  size_t MemoryUsage() const;

 private:
  struct Entry {
    std::string name;
    uint32_t refs = 0;  // 0 = free; then `name` holds nothing
  };
  // Hash and equality over ids, looking through to `entries_`; both also
  // accept a string_view (heterogeneous lookup), so lookups never build a
  // std::string.
  struct IdHash {
    using is_transparent = void;
    const std::vector<Entry>* entries;
    size_t operator()(std::string_view s) const { return absl::Hash<std::string_view>{}(s); }
    size_t operator()(uint32_t id) const { return (*this)(std::string_view((*entries)[id].name)); }
  };
  struct IdEq {
    using is_transparent = void;
    const std::vector<Entry>* entries;
    std::string_view Name(uint32_t id) const { return (*entries)[id].name; }
    std::string_view Name(std::string_view s) const { return s; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return Name(a) == Name(b);
    }
  };

  std::vector<Entry> entries_;
  std::vector<uint32_t> free_ids_;
  absl::flat_hash_set<uint32_t, IdHash, IdEq> ids_;
};

}  // namespace telemq::router
