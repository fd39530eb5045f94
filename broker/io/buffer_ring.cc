#include "broker/io/buffer_ring.h"

#include <sys/mman.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "protocol/common/errno_text.h"

namespace telemq::io {

BufferRing::BufferRing(io_uring* ring, uint16_t group_id, uint32_t count, uint32_t buffer_size)
    : ring_(ring), group_id_(group_id), count_(count), buffer_size_(buffer_size) {}

absl::StatusOr<BufferRing> BufferRing::Create(io_uring* ring, uint16_t group_id, uint32_t count,
                                              uint32_t buffer_size) {
  if (count == 0 || count > 32768 || (count & (count - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("buffer ring size must be a power of two <= 32768, got ", count));
  }
  BufferRing br(ring, group_id, count, buffer_size);
  br.br_bytes_ = size_t{count} * sizeof(io_uring_buf);
  void* mem =
      mmap(nullptr, br.br_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    return absl::ErrnoToStatus(errno, "mmap of the buffer ring");
  }
  br.br_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(br.br_);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br.br_);
  reg.ring_entries = count;
  reg.bgid = group_id;
  if (int rc = io_uring_register_buf_ring(ring, &reg, 0); rc < 0) {
    return absl::ErrnoToStatus(-rc,
                               absl::StrCat("io_uring_register_buf_ring: ", ErrnoText(-rc),
                                            " (provided buffer rings need Linux 5.19 or later)"));
  }
  br.memory_ = std::make_unique<uint8_t[]>(size_t{count} * buffer_size);
  const int mask = io_uring_buf_ring_mask(count);
  for (uint32_t i = 0; i < count; ++i) {
    io_uring_buf_ring_add(br.br_, br.memory_.get() + size_t{i} * buffer_size, buffer_size,
                          static_cast<uint16_t>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(br.br_, static_cast<int>(count));
  return br;
}

BufferRing::BufferRing(BufferRing&& other) noexcept
    : ring_(other.ring_),
      group_id_(other.group_id_),
      count_(other.count_),
      buffer_size_(other.buffer_size_),
      br_(std::exchange(other.br_, nullptr)),
      br_bytes_(other.br_bytes_),
      memory_(std::move(other.memory_)),
      pending_(other.pending_),
      in_user_hands_(other.in_user_hands_) {}

BufferRing::~BufferRing() {
  if (br_ == nullptr) return;
  io_uring_unregister_buf_ring(ring_, group_id_);
  munmap(br_, br_bytes_);
}

void BufferRing::Recycle(uint16_t id) {
  io_uring_buf_ring_add(br_, memory_.get() + size_t{id} * buffer_size_, buffer_size_, id,
                        io_uring_buf_ring_mask(count_), pending_);
  ++pending_;
  --in_user_hands_;
}

void BufferRing::Publish() {
  if (pending_ == 0) return;
  io_uring_buf_ring_advance(br_, pending_);
  pending_ = 0;
}

}  // namespace telemq::io
