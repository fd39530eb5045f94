// side_table.h: the entries a trie keeps beside the few nodes that need more
// than their value (shared subscription groups), addressed by the node's
// 32-bit `aux` slot (level_trie.h). Slot 0 means "no entry"; freed slots are
// reused, and once no entry is left the table gives its memory back, so a
// router whose shared subscriptions are all gone is as small as a fresh one.
//
//   uint32_t& aux = trie.aux(node);
//   Groups& groups = table.Acquire(aux);   // creates the entry if aux == 0
//   ...
//   if (groups.empty()) table.Release(aux);  // aux is 0 again
//
// A reference returned by Acquire or operator[] stays valid until the next
// Acquire or Release. Not thread-safe: it belongs to its trie's shard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace telemq::router {

template <typename T>
class SideTable {
 public:
  // The entry of `slot`; when slot is 0, a new empty entry, whose index is
  // stored in slot.
  T& Acquire(uint32_t& slot) {
    if (slot == 0) {
      if (free_.empty()) {
        slot = static_cast<uint32_t>(entries_.size());
        entries_.emplace_back();
      } else {
        slot = free_.back();
        free_.pop_back();
      }
    }
    return entries_[slot];
  }

  // Precondition: slot was returned by Acquire and not released.
  T& operator[](uint32_t slot) { return entries_[slot]; }
  const T& operator[](uint32_t slot) const { return entries_[slot]; }

  // Frees the entry of a non-zero `slot`, its memory included, and sets slot
  // to 0.
  void Release(uint32_t& slot) {
    T().swap(entries_[slot]);
    free_.push_back(slot);
    slot = 0;
    if (free_.size() + 1 == entries_.size()) {  // no entry left anywhere
      entries_ = std::vector<T>(1);
      std::vector<uint32_t>().swap(free_);
    }
  }

  // Every entry, the unused slot 0 and freed ones (empty) included.
  const std::vector<T>& entries() const { return entries_; }

  // The table's own memory; what the entries own is the caller's to count.
  size_t MemoryUsage() const {
    return entries_.capacity() * sizeof(T) + free_.capacity() * sizeof(uint32_t);
  }

 private:
  std::vector<T> entries_ = std::vector<T>(1);  // slot 0 is never used
  std::vector<uint32_t> free_;
};

}  // namespace telemq::router
