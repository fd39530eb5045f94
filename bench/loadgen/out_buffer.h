// telemq-bench: a connection's outbound byte queue.
//
// Packets are encoded straight into it (Reserve + Commit, no temporary), and
// the event loop writes everything pending with one write() per loop turn:
// that coalescing is what keeps the client's syscalls per message far below
// one. Storage grows on demand and is never zero-filled; consumed bytes are
// reclaimed by sliding the tail down when the head catches up or runs out of
// room. Single-threaded, owned by its connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

namespace telemq::bench {

class OutBuffer {
 public:
  // A writable region of at least `n` bytes at the end of the queue, valid
  // until the next call on this buffer. Commit() what was written.
  uint8_t* Reserve(size_t n) {
    if (capacity_ - tail_ < n) Grow(n);
    return data_.get() + tail_;
  }
  void Commit(size_t n) { tail_ += n; }

  std::span<const uint8_t> Pending() const { return {data_.get() + head_, tail_ - head_}; }
  size_t pending() const { return tail_ - head_; }
  bool empty() const { return tail_ == head_; }

  // Drops the first `n` pending bytes (they were written to the socket).
  void Consume(size_t n) {
    head_ += n;
    if (head_ == tail_) head_ = tail_ = 0;
  }

  void Clear() { head_ = tail_ = 0; }
  // Frees the storage (for connections that go idle for long).
  void Release() {
    data_.reset();
    capacity_ = head_ = tail_ = 0;
  }

 private:
  void Grow(size_t n) {
    const size_t live = tail_ - head_;
    if (head_ > 0 && capacity_ - live >= n && live <= capacity_ / 2) {
      std::memmove(data_.get(), data_.get() + head_, live);  // slide down: no allocation
    } else {
      size_t cap = capacity_ ? capacity_ : 256;
      while (cap - live < n) cap *= 2;
      auto bigger = std::make_unique_for_overwrite<uint8_t[]>(cap);
      if (live) std::memcpy(bigger.get(), data_.get() + head_, live);
      data_ = std::move(bigger);
      capacity_ = cap;
    }
    head_ = 0;
    tail_ = live;
  }

  std::unique_ptr<uint8_t[]> data_;
  size_t capacity_ = 0;
  size_t head_ = 0;
  size_t tail_ = 0;
};

}  // namespace telemq::bench
