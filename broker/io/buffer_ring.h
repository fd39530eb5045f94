// telemq: a provided-buffer ring for multishot recv.
//
// The kernel picks a free buffer from this ring for each recv completion
// (IOSQE_BUFFER_SELECT), so a shard needs one pool of receive memory for all
// of its connections instead of one buffer per connection: idle connections
// cost no receive memory at all.
//
// Ownership: a buffer handed to user space by a CQE (IORING_CQE_F_BUFFER,
// id in cqe.flags >> IORING_CQE_BUFFER_SHIFT) belongs to the shard until it
// calls Recycle(id). Views into it (decoded packets) are valid until then.
// Recycled buffers are given back to the kernel in one store by Publish(),
// once per loop turn.
//
// When every buffer is in user hands the kernel fails the recv with ENOBUFS
// and ends the multishot: the caller recycles and re-arms.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "absl/status/statusor.h"
#include "broker/io/uring_compat.h"

namespace telemq::io {

class BufferRing {
 public:
  // count must be a power of two (a kernel requirement), at most 32768.
  static absl::StatusOr<BufferRing> Create(io_uring* ring, uint16_t group_id, uint32_t count,
                                           uint32_t buffer_size);

  BufferRing(BufferRing&& other) noexcept;
  BufferRing& operator=(BufferRing&&) = delete;
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing();

  uint16_t group_id() const { return group_id_; }
  uint32_t buffer_size() const { return buffer_size_; }
  uint32_t count() const { return count_; }

  // The first `len` bytes of buffer `id`, as filled by the kernel.
  std::span<uint8_t> Data(uint16_t id, size_t len) {
    return {memory_.get() + size_t{id} * buffer_size_, len};
  }

  // Returns buffer `id` to the kernel at the next Publish().
  void Recycle(uint16_t id);
  // Makes recycled buffers visible to the kernel. Cheap when nothing changed.
  void Publish();

  // Buffers currently held by user space (handed out, not yet recycled).
  uint32_t in_user_hands() const { return in_user_hands_; }
  // Called for each CQE that carried a buffer.
  void NoteHandedOut() { ++in_user_hands_; }

 private:
  BufferRing(io_uring* ring, uint16_t group_id, uint32_t count, uint32_t buffer_size);

  io_uring* ring_;
  uint16_t group_id_;
  uint32_t count_;
  uint32_t buffer_size_;
  io_uring_buf_ring* br_ = nullptr;  // mmap'ed, shared with the kernel
  size_t br_bytes_ = 0;
  std::unique_ptr<uint8_t[]> memory_;
  int pending_ = 0;  // recycled since the last Publish()
  uint32_t in_user_hands_ = 0;
};

}  // namespace telemq::io
