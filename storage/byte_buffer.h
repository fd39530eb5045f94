// telemq storage: a growable byte array that does not zero what it adds
// (internal to storage/).
//
// The append path encodes every record straight into one of these:
// std::string would either zero-fill (resize) or check capacity once per
// field (append).
//
//   ByteBuffer b;
//   char* p = b.Extend(n);  // n new bytes at the end, contents unspecified
//   ... write exactly n bytes at p ...
//
// Pointers from data() / Extend() are invalidated by the next Extend or
// Reserve. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>

namespace telemq::storage {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(ByteBuffer&&) = default;
  ByteBuffer& operator=(ByteBuffer&&) = default;

  char* data() { return data_.get(); }
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }

  char* Extend(size_t n) {
    if (n > capacity_ - size_) Grow(size_ + n);
    char* p = data_.get() + size_;
    size_ += n;
    return p;
  }
  void Append(const char* p, size_t n) {
    if (n > 0) std::memcpy(Extend(n), p, n);
  }
  void Truncate(size_t n) { size_ = std::min(size_, n); }
  void Clear() { size_ = 0; }
  void Reserve(size_t n) {
    if (n > capacity_) Grow(n);
  }
  // Frees the memory.
  void Release() {
    data_.reset();
    size_ = capacity_ = 0;
  }

 private:
  void Grow(size_t need) {
    const size_t capacity = std::max({need, 2 * capacity_, size_t{4096}});
    std::unique_ptr<char[]> bigger = std::make_unique_for_overwrite<char[]>(capacity);
    if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = capacity;
  }

  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace telemq::storage
