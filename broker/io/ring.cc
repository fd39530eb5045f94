#include "broker/io/ring.h"

#include <linux/time_types.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace telemq::io {
namespace {

absl::Status ErrnoStatus(int err, const char* what) {
  return absl::ErrnoToStatus(err, what);  // appends ": <strerror>"
}

// Opcode support from the kernel's probe table. Multishot accept, multishot
// recv and buffer rings have no opcode of their own; they arrived with kernel
// 5.19-6.0 together with IORING_OP_SEND_ZC (6.0), which the probe does list,
// so SEND_ZC stands in for "kernel >= 6.0". Buffer ring registration is tried
// for real by BufferRing, which reports its own error.
void ProbeOpcodes(io_uring* ring, RingFeatures* features) {
  io_uring_probe* probe = io_uring_get_probe_ring(ring);
  if (probe == nullptr) return;
  const bool zc = io_uring_opcode_supported(probe, IORING_OP_SEND_ZC);
  features->send_zc = zc;
  features->multishot_accept = zc;
  features->multishot_recv = zc;
  features->buffer_ring = zc;
  features->msg_ring = io_uring_opcode_supported(probe, IORING_OP_MSG_RING);
  features->fixed_fd_install = io_uring_opcode_supported(probe, TELEMQ_IORING_OP_FIXED_FD_INSTALL);
  io_uring_free_probe(probe);
}

}  // namespace

std::string RingFeatures::ToString() const {
  std::vector<const char*> names;
  if (defer_taskrun) names.push_back("defer_taskrun");
  if (coop_taskrun) names.push_back("coop_taskrun");
  if (multishot_accept) names.push_back("multishot_accept");
  if (multishot_recv) names.push_back("multishot_recv");
  if (buffer_ring) names.push_back("buffer_ring");
  if (send_zc) names.push_back("send_zc");
  if (msg_ring) names.push_back("msg_ring");
  if (fixed_fd_install) names.push_back("fixed_fd_install");
  if (recvsend_bundle) names.push_back("recvsend_bundle");
  std::string text = names.empty() ? std::string("none") : absl::StrJoin(names, " ");
  if (direct_slots > 0) absl::StrAppend(&text, " direct_descriptors(", direct_slots, ")");
  return text;
}

absl::StatusOr<std::unique_ptr<Ring>> Ring::Create(const RingOptions& options) {
  std::unique_ptr<Ring> owner(new Ring());
  Ring& ring = *owner;
  struct Mode {
    unsigned flags;
    bool allowed;
    bool RingFeatures::*marker;
  };
  const Mode modes[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, options.allow_defer_taskrun,
       &RingFeatures::defer_taskrun},
      {IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, options.allow_coop_taskrun,
       &RingFeatures::coop_taskrun},
      {0, true, nullptr},
  };
  int last_error = 0;
  for (const Mode& mode : modes) {
    if (!mode.allowed) continue;
    io_uring_params params{};
    params.flags = mode.flags | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
    params.cq_entries = options.sq_entries * 4;
    int rc = io_uring_queue_init_params(options.sq_entries, &ring.ring_, &params);
    if (rc == -EINVAL) {
      // SUBMIT_ALL is 5.18: retry this mode without it before falling back.
      params = io_uring_params{};
      params.flags = mode.flags | IORING_SETUP_CQSIZE;
      params.cq_entries = options.sq_entries * 4;
      rc = io_uring_queue_init_params(options.sq_entries, &ring.ring_, &params);
    }
    if (rc < 0) {
      last_error = -rc;
      continue;
    }
    ring.initialized_ = true;
    if (mode.marker != nullptr) ring.features_.*(mode.marker) = true;
    ring.features_.kernel_features = params.features;
    ring.features_.recvsend_bundle = (params.features & IORING_FEAT_RECVSEND_BUNDLE) != 0;
    ProbeOpcodes(&ring.ring_, &ring.features_);
    return owner;
  }
  return ErrnoStatus(last_error, "io_uring_queue_init_params");
}

Ring::~Ring() {
  if (initialized_) io_uring_queue_exit(&ring_);
}

const char* Ring::mode() const {
  if (features_.defer_taskrun) return "defer_taskrun";
  if (features_.coop_taskrun) return "coop_taskrun";
  return "plain";
}

absl::Status Ring::RegisterFileTable(unsigned slots) {
  const int rc = io_uring_register_files_sparse(&ring_, slots);
  if (rc < 0) return ErrnoStatus(-rc, "io_uring_register_files_sparse");
  features_.direct_slots = slots;
  return absl::OkStatus();
}

io_uring_sqe* Ring::NextSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    // The SQ is full: hand what is queued to the kernel. Submission consumes
    // SQ entries even if the operations complete later.
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

absl::Status Ring::Submit() {
  const int rc = io_uring_submit(&ring_);
  if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
    return ErrnoStatus(-rc, "io_uring_submit");
  }
  return absl::OkStatus();
}

absl::Status Ring::SubmitAndWait(unsigned wait_nr, absl::Duration timeout) {
  int rc;
  if (timeout == absl::InfiniteDuration()) {
    rc = io_uring_submit_and_wait(&ring_, wait_nr);
  } else {
    const int64_t ns = absl::ToInt64Nanoseconds(std::max(timeout, absl::ZeroDuration()));
    __kernel_timespec ts{};
    ts.tv_sec = ns / 1'000'000'000;
    ts.tv_nsec = ns % 1'000'000'000;
    io_uring_cqe* cqe = nullptr;
    rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, wait_nr, &ts, nullptr);
  }
  // ETIME: the timeout passed; EINTR: a signal; EBUSY/EAGAIN: the CQ is full
  // and completions must be reaped before more can be submitted.
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN) {
    return ErrnoStatus(-rc, "io_uring_submit_and_wait");
  }
  return absl::OkStatus();
}

}  // namespace telemq::io
