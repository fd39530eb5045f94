// telemq: one io_uring ring per shard thread.
//
// Ring owns the io_uring instance of one shard. It is created *on* the shard
// thread and used only there: with IORING_SETUP_SINGLE_ISSUER the kernel
// rejects submissions from any other task. Set-up tries, in order:
//
//   1. SINGLE_ISSUER | DEFER_TASKRUN: completions run only when this thread
//      enters the kernel to wait, so no task-work interrupts the loop between
//      two turns, and the kernel skips cross-thread synchronisation (~5% more
//      ops/s measured on this machine, see docs/architecture.md).
//   2. COOP_TASKRUN | TASKRUN_FLAG: no IPI to run task work, the flag tells us
//      when a kernel entry is worth it (kernel 5.19).
//   3. no flags.
//
// The CQ is sized at four times the SQ: one multishot recv produces many CQEs
// per SQE, and a CQ overflow costs a slow path in the kernel.
//
// Usage (one loop turn):
//   io_uring_sqe* sqe = ring.NextSqe();
//   io_uring_prep_send(sqe, fd, buf, len, 0);
//   io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kSend, gen, slot}));
//   ring.SubmitAndWait(1, absl::Milliseconds(100));
//   ring.ForEachCompletion([&](const io_uring_cqe& cqe) { ... });
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/io/uring_compat.h"

namespace telemq::io {

// What the running kernel offers, probed once per ring.
struct RingFeatures {
  bool defer_taskrun = false;     // SINGLE_ISSUER | DEFER_TASKRUN accepted
  bool coop_taskrun = false;      // fallback mode accepted
  bool multishot_accept = false;  // kernel 5.19
  bool multishot_recv = false;    // kernel 6.0
  bool buffer_ring = false;       // provided buffer rings, kernel 5.19
  bool send_zc = false;           // IORING_OP_SEND_ZC, kernel 6.0
  bool msg_ring = false;          // IORING_OP_MSG_RING, kernel 5.18
  bool fixed_fd_install = false;  // IORING_OP_FIXED_FD_INSTALL, kernel 6.8
  bool recvsend_bundle = false;   // kernel 6.10, unnamed by liburing 2.3
  unsigned direct_slots = 0;      // size of the registered file table (RegisterFileTable)
  uint32_t kernel_features = 0;   // io_uring_params::features

  // "defer_taskrun multishot_accept multishot_recv buffer_ring ..." for the
  // start-up log line.
  std::string ToString() const;
};

struct RingOptions {
  unsigned sq_entries = 1024;
  // Skip the preferred setup modes (tests of the fallback path).
  bool allow_defer_taskrun = true;
  bool allow_coop_taskrun = true;
};

class Ring {
 public:
  // Heap-allocated and never moved: buffer rings and log partitions keep a
  // pointer to the io_uring inside.
  static absl::StatusOr<std::unique_ptr<Ring>> Create(const RingOptions& options = {});

  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring();

  // A free SQE, never null: when the SQ is full it submits what is queued
  // first. The SQE is zeroed by the prep helpers.
  io_uring_sqe* NextSqe();

  // Submits every queued SQE and waits until at least `wait_nr` completions
  // are ready or `timeout` passes (absl::InfiniteDuration() waits forever).
  // A timeout or an interrupted wait is not an error.
  absl::Status SubmitAndWait(unsigned wait_nr, absl::Duration timeout);

  // Submits without waiting.
  absl::Status Submit();

  // Completions ready now. Without DEFER_TASKRUN the kernel may post more
  // at any moment; a caller that must handle only those that existed at a
  // point in time takes this count first and passes it to ForEachCompletion.
  unsigned ReadyCompletions() { return io_uring_cq_ready(&ring_); }

  // Calls fn(const io_uring_cqe&) for ready completions, at most `max`, then
  // advances the CQ once for the whole batch. Returns how many were handled.
  // fn may queue new SQEs but must not call ForEachCompletion recursively.
  template <typename Fn>
  unsigned ForEachCompletion(Fn&& fn, unsigned max = UINT32_MAX) {
    unsigned head;
    unsigned count = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      if (count == max) break;
      fn(*cqe);
      ++count;
    }
    io_uring_cq_advance(&ring_, count);
    return count;
  }

  // Registers an empty table of `slots` direct descriptors
  // (net/client_socket.h), filled by accepts with IORING_FILE_INDEX_ALLOC.
  // The kernel refuses a table larger than the process's soft RLIMIT_NOFILE
  // (EMFILE), per ring. Once per ring.
  absl::Status RegisterFileTable(unsigned slots);

  io_uring* raw() { return &ring_; }
  const RingFeatures& features() const { return features_; }
  // Which set-up mode was accepted: "defer_taskrun", "coop_taskrun" or "plain".
  const char* mode() const;

 private:
  Ring() = default;

  io_uring ring_{};
  bool initialized_ = false;
  RingFeatures features_;
};

}  // namespace telemq::io
