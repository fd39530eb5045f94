// telemq: a connection's outbound bytes, in chunks from a shard-wide pool.
//
// Packets for a client are encoded straight into the tail chunk of its queue;
// the shard sends everything queued with one sendmsg over the chunk list, so
// a thousand small PUBLISHes to one subscriber cost one syscall, not a
// thousand. A connection with nothing to send holds no chunk at all: idle
// connections cost no send memory.
//
// Contract with the event loop: at most one send is in flight per queue.
// FillIovecs describes every queued byte from the head; bytes appended while
// that send is in flight land after the described ranges, and chunks are
// never moved or freed before Consume() says their bytes went out, so the
// kernel's view stays valid.
//
//   std::span<uint8_t> out = queue.Reserve(pool, packet_size);
//   Encode(packet, out);
//   queue.Commit(packet_size);
//   ... int n = queue.FillIovecs(iov, 64); submit sendmsg(iov, n) ...
//   ... on completion: queue.Consume(pool, bytes_sent);
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace telemq::net {

class ChunkPool {
 public:
  // 16 KiB: a few hundred small PUBLISHes, small enough that a queue's last
  // partly used chunk wastes little.
  static constexpr uint32_t kChunkSize = 16 * 1024;

  struct Chunk {
    Chunk* next;
    uint32_t capacity;
    uint32_t begin;  // first unsent byte
    uint32_t end;    // one past the last written byte
    uint8_t* data() { return reinterpret_cast<uint8_t*>(this + 1); }
  };

  // Keeps up to `max_free` standard chunks for reuse.
  explicit ChunkPool(size_t max_free = 1024) : max_free_(max_free) {}
  ChunkPool(const ChunkPool&) = delete;
  ChunkPool& operator=(const ChunkPool&) = delete;
  ~ChunkPool();

  // A chunk with at least `min_capacity` bytes: a pooled standard chunk, or a
  // dedicated one for a larger packet.
  Chunk* Get(size_t min_capacity);
  void Put(Chunk* chunk);

  size_t chunks_in_use() const { return in_use_; }

 private:
  size_t max_free_;
  Chunk* free_ = nullptr;
  size_t free_count_ = 0;
  size_t in_use_ = 0;
};

class OutputQueue {
 public:
  OutputQueue() = default;
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;
  // Movable (connection tables grow): chunks stay where they are, so a send
  // in flight is unaffected. Moving into a non-empty queue is a bug.
  OutputQueue(OutputQueue&& other) noexcept
      : head_(std::exchange(other.head_, nullptr)),
        tail_(std::exchange(other.tail_, nullptr)),
        size_(std::exchange(other.size_, 0)) {}
  OutputQueue& operator=(OutputQueue&& other) noexcept {
    head_ = std::exchange(other.head_, nullptr);
    tail_ = std::exchange(other.tail_, nullptr);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }
  // The owner must call Clear(pool) before destruction (the pool is not
  // stored, to keep an idle connection's queue at 24 bytes).
  ~OutputQueue() = default;

  // Contiguous space for `n` bytes at the tail; valid until Commit.
  std::span<uint8_t> Reserve(ChunkPool& pool, size_t n);
  void Commit(size_t n) {
    tail_->end += static_cast<uint32_t>(n);
    size_ += n;
  }
  // Reserve + copy + Commit.
  void Append(ChunkPool& pool, std::span<const uint8_t> bytes);

  // Describes queued bytes from the head, at most `max_iov` segments and
  // `max_bytes` bytes. Returns the number of segments written to `iov`.
  int FillIovecs(iovec* iov, int max_iov, size_t max_bytes = SIZE_MAX) const;

  // `n` bytes from the head were sent: frees chunks that are done.
  void Consume(ChunkPool& pool, size_t n);

  // Drops everything (connection closed).
  void Clear(ChunkPool& pool);

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  ChunkPool::Chunk* head_ = nullptr;
  ChunkPool::Chunk* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace telemq::net
