// telemq: a bounded single-producer / single-consumer ring.
//
// Shards never share mutable state; they exchange messages through one of
// these per ordered pair of shards (shard i -> shard j), so each ring has
// exactly one writer thread and one reader thread and needs no lock and no
// compare-and-swap: the producer owns `tail_`, the consumer owns `head_`, and
// each publishes its index with a release store that the other reads with an
// acquire load. Each side caches the other's index to touch the shared cache
// line only when its cached view says the ring is full (or empty).
//
// Bounded on purpose: a full ring is back-pressure. TryPush fails and the
// producer keeps the item and retries on a later loop turn.
//
//   SpscRing<Item> ring(1024);           // capacity rounded up to a power of 2
//   // producer thread                   // consumer thread
//   if (!ring.TryPush(std::move(x))) {}  while (auto item = ring.TryPop()) {...}
//   ring.TryStage(std::move(y));         ring.ConsumeAll([](Item& item) {...});
//   ring.Commit();                       // y visible from here
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <utility>

namespace telemq::shard {

template <typename T>
class SpscRing {
 public:
  explicit SpscRing(size_t min_capacity)
      : capacity_(std::bit_ceil(std::max<size_t>(min_capacity, 2))),
        mask_(capacity_ - 1),
        slots_(std::make_unique<Slot[]>(capacity_)) {}

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  ~SpscRing() {
    Commit();  // staged items are destroyed too
    while (TryPop()) {
    }
  }

  size_t capacity() const { return capacity_; }

  // Producer thread only. Returns false (and leaves `value` untouched) when
  // full. The item, and every staged one before it, is visible at once.
  bool TryPush(T&& value) {
    if (!TryStage(std::move(value))) return false;
    Commit();
    return true;
  }

  // Producer thread only: TryPush without publishing. Staged items become
  // visible, in order, at the next Commit or TryPush, so a producer can
  // publish a batch with one release store: the consumer then takes the
  // shared cache line once per batch instead of once per item.
  bool TryStage(T&& value) {
    const size_t tail = staged_tail_;
    if (tail - cached_head_ == capacity_) {
      cached_head_ = head_.load(std::memory_order_acquire);
      if (tail - cached_head_ == capacity_) return false;
    }
    new (slots_[tail & mask_].storage) T(std::move(value));
    staged_tail_ = tail + 1;
    return true;
  }
  void Commit() {
    if (staged_tail_ != tail_.load(std::memory_order_relaxed)) {
      tail_.store(staged_tail_, std::memory_order_release);
    }
  }

  // Consumer thread only: calls f(T&) on every item visible now, in order,
  // then frees their slots with one release store. Returns how many.
  template <typename F>
  size_t ConsumeAll(F&& f) {
    const size_t head = head_.load(std::memory_order_relaxed);
    cached_tail_ = tail_.load(std::memory_order_acquire);
    for (size_t i = head; i != cached_tail_; ++i) {
      T* slot = std::launder(reinterpret_cast<T*>(slots_[i & mask_].storage));
      f(*slot);
      slot->~T();
    }
    if (cached_tail_ != head) head_.store(cached_tail_, std::memory_order_release);
    return cached_tail_ - head;
  }

  // Consumer thread only.
  std::optional<T> TryPop() {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head == cached_tail_) {
      cached_tail_ = tail_.load(std::memory_order_acquire);
      if (head == cached_tail_) return std::nullopt;
    }
    T* slot = std::launder(reinterpret_cast<T*>(slots_[head & mask_].storage));
    std::optional<T> out(std::move(*slot));
    slot->~T();
    head_.store(head + 1, std::memory_order_release);
    return out;
  }

  // Either thread; a snapshot that may be stale by the time it is used.
  bool EmptyApprox() const {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }

 private:
  struct Slot {
    alignas(T) unsigned char storage[sizeof(T)];
  };
  // 64 bytes: x86-64 cache line; keeps the producer's and the consumer's
  // indices from false sharing.
  static constexpr size_t kLine = 64;

  const size_t capacity_;
  const size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  alignas(kLine) std::atomic<size_t> head_{0};  // consumer writes
  size_t cached_tail_ = 0;                      // consumer's view of tail_
  alignas(kLine) std::atomic<size_t> tail_{0};  // producer writes: published
  size_t staged_tail_ = 0;                      // producer's own, >= tail_
  size_t cached_head_ = 0;                      // producer's view of head_
};

}  // namespace telemq::shard
