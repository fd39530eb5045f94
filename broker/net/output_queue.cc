#include "broker/net/output_queue.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace telemq::net {

ChunkPool::~ChunkPool() {
  while (free_ != nullptr) {
    Chunk* next = free_->next;
    ::operator delete(free_);
    free_ = next;
  }
}

ChunkPool::Chunk* ChunkPool::Get(size_t min_capacity) {
  Chunk* chunk;
  if (min_capacity <= kChunkSize && free_ != nullptr) {
    chunk = free_;
    free_ = chunk->next;
    --free_count_;
  } else {
    const size_t capacity = std::max<size_t>(min_capacity, kChunkSize);
    chunk = static_cast<Chunk*>(::operator new(sizeof(Chunk) + capacity));
    chunk->capacity = static_cast<uint32_t>(capacity);
  }
  chunk->next = nullptr;
  chunk->begin = 0;
  chunk->end = 0;
  ++in_use_;
  return chunk;
}

void ChunkPool::Put(Chunk* chunk) {
  --in_use_;
  if (chunk->capacity == kChunkSize && free_count_ < max_free_) {
    chunk->next = free_;
    free_ = chunk;
    ++free_count_;
    return;
  }
  ::operator delete(chunk);
}

std::span<uint8_t> OutputQueue::Reserve(ChunkPool& pool, size_t n) {
  if (tail_ == nullptr || tail_->capacity - tail_->end < n) {
    ChunkPool::Chunk* chunk = pool.Get(n);
    if (tail_ == nullptr) {
      head_ = chunk;
    } else {
      tail_->next = chunk;
    }
    tail_ = chunk;
  }
  return {tail_->data() + tail_->end, n};
}

void OutputQueue::Append(ChunkPool& pool, std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  std::span<uint8_t> out = Reserve(pool, bytes.size());
  std::memcpy(out.data(), bytes.data(), bytes.size());
  Commit(bytes.size());
}

int OutputQueue::FillIovecs(iovec* iov, int max_iov, size_t max_bytes) const {
  int n = 0;
  for (ChunkPool::Chunk* c = head_; c != nullptr && n < max_iov && max_bytes > 0; c = c->next) {
    if (c->end == c->begin) continue;
    const size_t len = std::min<size_t>(c->end - c->begin, max_bytes);
    iov[n].iov_base = c->data() + c->begin;
    iov[n].iov_len = len;
    max_bytes -= len;
    ++n;
  }
  return n;
}

void OutputQueue::Consume(ChunkPool& pool, size_t n) {
  size_ -= n;
  while (head_ != nullptr) {
    const size_t avail = head_->end - head_->begin;
    if (n < avail) {
      head_->begin += static_cast<uint32_t>(n);
      return;
    }
    n -= avail;
    // A fully sent chunk goes back to the pool, including the tail: new
    // bytes will get a fresh chunk, and an idle queue holds none.
    ChunkPool::Chunk* done = head_;
    head_ = head_->next;
    if (head_ == nullptr) tail_ = nullptr;
    pool.Put(done);
    if (n == 0 && (head_ == nullptr || head_->end > head_->begin)) return;
  }
}

void OutputQueue::Clear(ChunkPool& pool) {
  while (head_ != nullptr) {
    ChunkPool::Chunk* next = head_->next;
    pool.Put(head_);
    head_ = next;
  }
  tail_ = nullptr;
  size_ = 0;
}

}  // namespace telemq::net
