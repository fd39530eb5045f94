// telemq: recycling of Message memory per shard thread.
//
// A message is created on the publisher's shard and, with several shards,
// usually dies on the subscriber's one, after its send. glibc's free() of a
// block that another thread's arena owns takes that arena's lock: the lock
// the publishing shard takes for its next malloc. Measured at 2 shards, 1 → 1
// QoS 0, that lock was ~12% of the broker's cycles (docs/benchmarks.md).
//
// A MessagePool keeps freed blocks in size classes for the thread it is
// attached to. A block freed on another thread goes back to its own pool:
// the freeing thread collects such blocks per pool and pushes each batch onto
// the pool's lock-free stack with one CAS; the owner takes the whole stack
// with one exchange when a class runs dry. Blocks above the largest class,
// or created on a thread without a pool (tests, the main thread), use
// operator new/delete directly.
//
//   {
//     MessagePool::Scope scope;          // the shard thread, before its loop
//     for (;;) {
//       ...                              // Message::Create / MessageRef release
//       MessagePool::FlushRemote();      // once per loop turn
//     }
//   }                                     // detaches; cached blocks are freed
//
// Pools are never destroyed: a block may outlive the thread that allocated
// it (a retained message on another shard). A detached pool goes back to a
// registry and the next Scope reuses it, so their number stays at the most
// threads attached at once (at most kMaxPools; beyond that, no pooling).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace telemq {

class MessagePool {
 public:
  static constexpr size_t kClassBytes = 64;
  static constexpr uint8_t kClasses = 16;  // blocks of 64, 128, ... 1024 bytes
  static constexpr uint8_t kNoClass = 0xff;
  static constexpr uint32_t kMaxPools = 64;
  // Freed blocks kept per pool; past this they go back to the allocator.
  static constexpr size_t kMaxCachedBytes = size_t{8} << 20;
  // Remote frees pushed to their pool in batches of this many.
  static constexpr uint32_t kRemoteBatch = 64;

  // Attaches a pool to the calling thread for the scope's lifetime.
  class Scope {
   public:
    Scope();
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
  };

  // A block of at least `bytes`. Sets *pool and *size_class to what Free
  // needs (nullptr / kNoClass for a block from operator new).
  static void* Allocate(size_t bytes, MessagePool** pool, uint8_t* size_class);
  // Frees a block from Allocate, on any thread.
  static void Free(void* block, MessagePool* pool, uint8_t size_class);
  // Pushes the calling thread's batched frees to their pools.
  static void FlushRemote();

  // For tests: blocks cached in the calling thread's pool (0 without one).
  static size_t CachedBlocksForTest();

 private:
  struct Block {
    Block* next;
    uint8_t size_class;
  };
  struct Registry;
  friend struct Registry;

  MessagePool() = default;
  void* Take(uint8_t size_class);
  void Keep(Block* b);
  void TakeRemote();
  void ReleaseCached();
  void PushRemote(Block* head, Block* tail);

  // Written by other threads (CAS push), taken by the owner (exchange).
  alignas(64) std::atomic<Block*> remote_{nullptr};
  // Owner thread only.
  alignas(64) Block* free_[kClasses] = {};
  size_t cached_bytes_ = 0;
  size_t cached_blocks_ = 0;
  uint32_t id_ = 0;  // index in the registry, fixed at creation
};

}  // namespace telemq
