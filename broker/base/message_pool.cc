#include "broker/base/message_pool.h"

#include <array>
#include <new>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "protocol/common/mutex_lock.h"

namespace telemq {

namespace {

// The calling thread's pool and its batches of blocks owned by other pools.
struct RemoteBatch {
  MessagePool* pool = nullptr;
  void* head = nullptr;
  void* tail = nullptr;
  uint32_t count = 0;
};

struct ThreadState {
  MessagePool* pool = nullptr;
  std::array<RemoteBatch, MessagePool::kMaxPools> batches{};
  uint64_t dirty = 0;  // bit i: batches[i] is not empty
};

thread_local ThreadState tls;

size_t ClassBytes(uint8_t size_class) {
  return MessagePool::kClassBytes * (size_t{size_class} + 1);
}

}  // namespace

struct MessagePool::Registry {
  absl::Mutex mu;
  std::array<MessagePool*, kMaxPools> pools ABSL_GUARDED_BY(mu) = {};
  std::array<bool, kMaxPools> attached ABSL_GUARDED_BY(mu) = {};
  uint32_t count ABSL_GUARDED_BY(mu) = 0;

  static Registry& Get() {
    static Registry* r = new Registry();  // never destroyed: blocks outlive threads
    return *r;
  }
  MessagePool* Attach() {
    MutexLock lock(&mu);
    for (uint32_t i = 0; i < count; ++i) {
      if (!attached[i]) {
        attached[i] = true;
        return pools[i];
      }
    }
    if (count == kMaxPools) return nullptr;
    MessagePool* p = new MessagePool();
    p->id_ = count;
    attached[count] = true;
    pools[count++] = p;
    return p;
  }
  void Detach(MessagePool* p) {
    MutexLock lock(&mu);
    attached[p->id_] = false;
  }
};

MessagePool::Scope::Scope() {
  if (tls.pool == nullptr) tls.pool = Registry::Get().Attach();
}

MessagePool::Scope::~Scope() {
  MessagePool* p = tls.pool;
  if (p == nullptr) return;
  FlushRemote();
  tls.pool = nullptr;
  // Blocks freed on this thread from now on are remote to the pool, so the
  // lists can go: the next thread to attach starts empty, apart from blocks
  // still coming back through the stack.
  p->TakeRemote();
  p->ReleaseCached();
  Registry::Get().Detach(p);
}

void* MessagePool::Allocate(size_t bytes, MessagePool** pool, uint8_t* size_class) {
  MessagePool* p = tls.pool;
  const size_t c = bytes == 0 ? 0 : (bytes - 1) / kClassBytes;
  if (p == nullptr || c >= kClasses) {
    *pool = nullptr;
    *size_class = kNoClass;
    return ::operator new(bytes);
  }
  *pool = p;
  *size_class = static_cast<uint8_t>(c);
  return p->Take(static_cast<uint8_t>(c));
}

void* MessagePool::Take(uint8_t size_class) {
  if (free_[size_class] == nullptr && remote_.load(std::memory_order_relaxed) != nullptr) {
    TakeRemote();
  }
  Block* b = free_[size_class];
  if (b == nullptr) return ::operator new(ClassBytes(size_class));
  free_[size_class] = b->next;
  cached_bytes_ -= ClassBytes(size_class);
  --cached_blocks_;
  return b;
}

void MessagePool::Keep(Block* b) {
  const size_t bytes = ClassBytes(b->size_class);
  if (cached_bytes_ + bytes > kMaxCachedBytes) {
    ::operator delete(static_cast<void*>(b));
    return;
  }
  b->next = free_[b->size_class];
  free_[b->size_class] = b;
  cached_bytes_ += bytes;
  ++cached_blocks_;
}

void MessagePool::TakeRemote() {
  Block* b = remote_.exchange(nullptr, std::memory_order_acquire);
  while (b != nullptr) {
    Block* next = b->next;
    Keep(b);
    b = next;
  }
}

void MessagePool::ReleaseCached() {
  for (Block*& head : free_) {
    while (head != nullptr) {
      Block* next = head->next;
      ::operator delete(static_cast<void*>(head));
      head = next;
    }
  }
  cached_bytes_ = 0;
  cached_blocks_ = 0;
}

void MessagePool::PushRemote(Block* head, Block* tail) {
  Block* old = remote_.load(std::memory_order_relaxed);
  do {
    tail->next = old;
  } while (!remote_.compare_exchange_weak(old, head, std::memory_order_release,
                                          std::memory_order_relaxed));
}

void MessagePool::Free(void* block, MessagePool* pool, uint8_t size_class) {
  if (pool == nullptr) {
    ::operator delete(block);
    return;
  }
  Block* b = static_cast<Block*>(block);
  b->size_class = size_class;
  b->next = nullptr;
  if (pool == tls.pool) {
    pool->Keep(b);
    return;
  }
  if (tls.pool == nullptr) {  // not a shard thread: nothing would flush a batch
    pool->PushRemote(b, b);
    return;
  }
  RemoteBatch& batch = tls.batches[pool->id_];
  if (batch.count == 0) {
    batch.pool = pool;
    batch.tail = b;
    tls.dirty |= uint64_t{1} << pool->id_;
  }
  b->next = static_cast<Block*>(batch.head);
  batch.head = b;
  if (++batch.count == kRemoteBatch) {
    pool->PushRemote(b, static_cast<Block*>(batch.tail));
    batch = RemoteBatch{};
    tls.dirty &= ~(uint64_t{1} << pool->id_);
  }
}

void MessagePool::FlushRemote() {
  if (tls.dirty == 0) return;
  for (uint64_t dirty = tls.dirty; dirty != 0; dirty &= dirty - 1) {
    RemoteBatch& batch = tls.batches[__builtin_ctzll(dirty)];
    batch.pool->PushRemote(static_cast<Block*>(batch.head), static_cast<Block*>(batch.tail));
    batch = RemoteBatch{};
  }
  tls.dirty = 0;
}

size_t MessagePool::CachedBlocksForTest() {
  return tls.pool == nullptr ? 0 : tls.pool->cached_blocks_;
}

}  // namespace telemq
