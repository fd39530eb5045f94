// telemq: what the shards of one broker share.
//
// Built before the shard threads start and immutable afterwards, except for
// the atomics: the mailbox rings (one per ordered pair of shards), each
// shard's wake-up eventfd, io_uring fd and "about to sleep" flag, the stop
// flag and the broker-wide connection count (checked once per accept, never
// per message).
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "broker/shard/mail.h"
#include "broker/shard/spsc_ring.h"

namespace telemq::shard {

class ShardGroup {
 public:
  ShardGroup(uint32_t shards, size_t ring_capacity, uint32_t max_connections)
      : size_(shards),
        max_connections_(max_connections),
        sleeping_(shards),
        ring_fds_(shards),
        needed_(size_t{shards} * shards) {
    for (uint32_t i = 0; i < shards * shards; ++i) {
      // A shard never mails itself: its own ring is a placeholder.
      const bool self = i / shards == i % shards;
      rings_.push_back(std::make_unique<SpscRing<Mail>>(self ? 2 : ring_capacity));
    }
    for (uint32_t i = 0; i < shards; ++i) {
      wake_fds_.push_back(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      ring_fds_[i].store(-1, std::memory_order_relaxed);
    }
  }
  ~ShardGroup() {
    for (int fd : wake_fds_) close(fd);
  }
  ShardGroup(const ShardGroup&) = delete;
  ShardGroup& operator=(const ShardGroup&) = delete;

  uint32_t size() const { return size_; }
  SpscRing<Mail>& ring(uint32_t from, uint32_t to) { return *rings_[from * size_ + to]; }
  int wake_fd(uint32_t shard) const { return wake_fds_[shard]; }

  // Sleep/wake handshake (seq_cst on both sides): a shard sets its flag,
  // re-checks its rings, then blocks; a sender pushes, then wakes the target
  // if the flag is set. Either the re-check sees the mail or the sender sees
  // the flag.
  std::atomic<bool>& sleeping(uint32_t shard) { return sleeping_[shard]; }
  // A shard's io_uring fd, once its ring exists (-1 before): other shards
  // wake it with an IORING_OP_MSG_RING completion, which rides on their own
  // next submit, instead of a write to its eventfd.
  void SetRingFd(uint32_t shard, int fd) { ring_fds_[shard].store(fd, std::memory_order_release); }
  int ring_fd(uint32_t shard) const { return ring_fds_[shard].load(std::memory_order_acquire); }
  // The eventfd wake-up: from outside the shards (Stop), or when MSG_RING
  // cannot be used.
  void Wake(uint32_t shard) {
    const uint64_t one = 1;
    (void)!write(wake_fds_[shard], &one, sizeof(one));
  }

  std::atomic<bool>& stopping() { return stopping_; }
  // Admission: false when the broker is at max_connections.
  bool AdmitConnection() {
    if (connections_.fetch_add(1, std::memory_order_relaxed) >= max_connections_) {
      connections_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  void ReleaseConnection() { connections_.fetch_sub(1, std::memory_order_relaxed); }
  uint32_t connections() const { return connections_.load(std::memory_order_relaxed); }
  uint32_t max_connections() const { return max_connections_; }

  // Log retention: the lowest offset of `partition` that the persistent
  // sessions of `shard` may still need, published by that shard every few
  // seconds (0 until it first does, so nothing is deleted before).
  std::atomic<uint64_t>& needed(uint32_t shard, uint32_t partition) {
    return needed_[size_t{shard} * size_ + partition];
  }

 private:
  uint32_t size_;
  uint32_t max_connections_;
  std::vector<std::unique_ptr<SpscRing<Mail>>> rings_;
  std::vector<int> wake_fds_;
  std::vector<std::atomic<bool>> sleeping_;
  std::vector<std::atomic<int>> ring_fds_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint32_t> connections_{0};
  std::vector<std::atomic<uint64_t>> needed_;  // [shard][partition], value-initialized to 0
};

}  // namespace telemq::shard
