// Shard: accepting clients. Admission control, and the two kinds of client
// socket (net/client_socket.h): direct descriptors in the ring's file table
// first, process descriptors while that table is nearly full.
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "broker/base/log.h"
#include "broker/net/listener.h"
#include "broker/shard/shard.h"
#include "protocol/common/errno_text.h"

namespace telemq::shard {

using io::EncodeOpTag;
using io::OpKind;

namespace {

constexpr int64_t kAcceptPauseNs = 100'000'000;
// Admission control (shard.h): new connections started per loop turn, and
// accepted ones allowed to wait before the shard stops accepting.
constexpr uint32_t kAdmitPerTurn = 64;
constexpr size_t kAcceptBacklog = 1024;
// The accept's tag says which kind of socket its completions carry.
constexpr uint32_t kAcceptsDirect = 1;
// The kernel's own cap on a ring's file table (IORING_MAX_FIXED_FILES).
constexpr rlim_t kMaxDirectSlots = rlim_t{1} << 20;
// Free slots of the table at which accepts switch to process descriptors
// (at most an eighth of the table): the connections one multishot accept
// may take in a burst before its cancel lands.
constexpr uint32_t kDirectMargin = 64;

}  // namespace

void Shard::SetUpDirectDescriptors() {
  if (!options_.direct_descriptors) return;
  // Moving a direct descriptor to another shard needs MSG_RING's SEND_FD
  // (kernel 6.0, which multishot recv already requires).
  if (group_->size() > 1 && !ring_->features().msg_ring) return;
  // The kernel caps each ring's table at the soft open-file limit; a table
  // larger than max-connections would never fill. The table costs the
  // kernel 8 bytes a slot.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const auto slots = static_cast<unsigned>(
      std::min<rlim_t>({limit.rlim_cur, rlim_t{group_->max_connections()}, kMaxDirectSlots}));
  if (absl::Status s = ring_->RegisterFileTable(slots); !s.ok()) {
    TELEMQ_LOG(kInfo, "no direct descriptors (%s): clients use process descriptors only",
               std::string(s.message()));
    return;
  }
  direct_slots_ = slots;
  accept_direct_ = true;
}

bool Shard::WantDirectAccept() const {
  if (direct_slots_ == 0 || direct_full_) return false;
  // Back to the table only well below the switch point, so that clients
  // coming and going near it do not flip the accept each time.
  const uint32_t margin = std::min(kDirectMargin, direct_slots_ / 8);
  return direct_in_use_ + (accept_direct_ ? margin : 2 * margin) < direct_slots_;
}

void Shard::MaybeSwitchAccept() {
  if (accept_armed_ && accept_direct_ != WantDirectAccept()) CancelAccept();
}

void Shard::ArmAccept() {
  const bool direct = WantDirectAccept();
  if (direct != accept_direct_) {
    TELEMQ_LOG(kInfo, "%u of the ring's %u direct descriptors in use: accepting into %s",
               direct_in_use_, direct_slots_,
               direct ? "direct descriptors again" : "process descriptors");
  }
  accept_direct_ = direct;
  io_uring_sqe* sqe = ring_->NextSqe();
  if (accept_direct_) {
    io_uring_prep_multishot_accept_direct(sqe, options_.listen_fd, nullptr, nullptr, 0);
  } else {
    io_uring_prep_multishot_accept(sqe, options_.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  }
  io_uring_sqe_set_data64(sqe,
                          EncodeOpTag({OpKind::kAccept, accept_direct_ ? kAcceptsDirect : 0, 0}));
  accept_armed_ = true;
}

void Shard::CancelAccept() {
  if (accept_cancel_pending_) return;
  accept_cancel_pending_ = true;
  io_uring_sqe* sqe = ring_->NextSqe();
  io_uring_prep_cancel64(sqe,
                         EncodeOpTag({OpKind::kAccept, accept_direct_ ? kAcceptsDirect : 0, 0}), 0);
  io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kCancel, 0, 0}));
}

void Shard::OnAccept(const io_uring_cqe& cqe) {
  const bool direct = io::DecodeOpTag(cqe.user_data).generation == kAcceptsDirect;
  if (!(cqe.flags & IORING_CQE_F_MORE)) {
    accept_armed_ = false;
    accept_cancel_pending_ = false;
  }
  if (direct && cqe.res >= 0) ++direct_in_use_;
  if (cqe.res < 0) {
    const int err = -cqe.res;
    if (direct && err == ENFILE) {
      // The table filled before the margin switched the accept (a burst):
      // the kernel dropped the connection it could not install. Process
      // descriptors until a direct one is closed (CloseSocket).
      TELEMQ_LOG(kWarning,
                 "the ring's %u direct descriptors are in use; a connection was "
                 "dropped; accepting into process descriptors",
                 direct_slots_);
      direct_full_ = true;
      if (accept_armed_) CancelAccept();
    } else if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
      // Out of descriptors or memory: retrying at once would fail the same
      // way thousands of times a second. Pause accepting (the kernel keeps
      // new connections in the listen backlog) and say so once a second.
      accept_paused_until_ns_ = mono_ns_ + kAcceptPauseNs;
      WakeAt(accept_paused_until_ns_);
      ++accept_errors_suppressed_;
      if (mono_ns_ >= next_accept_error_log_ns_) {
        TELEMQ_LOG(kWarning, "accept failed: %s (%llu times); pausing accepts for 100 ms",
                   ErrnoText(err), static_cast<unsigned long long>(accept_errors_suppressed_));
        accept_errors_suppressed_ = 0;
        next_accept_error_log_ns_ = mono_ns_ + 1'000'000'000;
      }
      // Both kinds are exhausted. direct_full_ stays until CloseSocket
      // frees a slot of the table.
      if (accept_armed_) CancelAccept();
      return;
    } else if (!stopping_ && err != ECANCELED) {
      TELEMQ_LOG(kWarning, "accept failed: %s", ErrnoText(err));
    }
  } else if (stopping_ || !group_->AdmitConnection()) {
    if (!stopping_) {
      // A direct descriptor has no getpeername(2): no address then.
      TELEMQ_LOG(kWarning, "refusing a connection%s%s: max-connections (%u) reached",
                 direct ? "" : " from ", direct ? "" : net::PeerName(cqe.res),
                 group_->max_connections());
    }
    CloseSocket({cqe.res, direct});
  } else if (admitted_this_turn_ < kAdmitPerTurn && waiting_head_ == waiting_accepts_.size()) {
    Admit({cqe.res, direct});
  } else {
    waiting_accepts_.push_back({cqe.res, direct});
    if (waiting_accepts_.size() - waiting_head_ >= kAcceptBacklog && accept_armed_) {
      CancelAccept();  // the listen backlog holds the rest until these are in
    }
  }
  MaybeSwitchAccept();
  MaybeArmAccept();
}

void Shard::Admit(net::ClientSocket socket) {
  ++admitted_this_turn_;
  // TCP_NODELAY comes from the listener (net::OpenListener).
  AdoptConnection(socket, {});
}

void Shard::AdmitWaiting() {
  while (waiting_head_ < waiting_accepts_.size() && admitted_this_turn_ < kAdmitPerTurn) {
    const net::ClientSocket socket = waiting_accepts_[waiting_head_++];
    if (stopping_) {
      CloseSocket(socket);
      group_->ReleaseConnection();
    } else {
      Admit(socket);
    }
  }
  if (waiting_head_ == waiting_accepts_.size()) {
    waiting_accepts_.clear();
    waiting_head_ = 0;
  }
}

void Shard::MaybeArmAccept() {
  const bool crowded = waiting_accepts_.size() - waiting_head_ >= kAcceptBacklog / 2;
  if (!accept_armed_ && !stopping_ && !crowded && mono_ns_ >= accept_paused_until_ns_) {
    ArmAccept();
  }
}

void Shard::SetSocket(io_uring_sqe* sqe, const Conn& c) {
  // The prep helpers put c.fd in sqe->fd; the flag makes it a table slot.
  if (c.direct) sqe->flags |= IOSQE_FIXED_FILE;
}

void Shard::ShutdownWrite(uint32_t slot) {
  Conn& c = conns_[slot];
  if (!c.direct) {
    shutdown(c.fd, SHUT_WR);
    return;
  }
  // The kernel runs this op in an io-wq worker: fine for the broker's own
  // closes, too costly for every close (EndSocketIo).
  io_uring_sqe* sqe = ring_->NextSqe();
  io_uring_prep_shutdown(sqe, c.fd, SHUT_WR);
  SetSocket(sqe, c);
  io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kShutdown, c.generation, slot}));
  ++c.shutdowns_in_flight;
}

void Shard::EndSocketIo(uint32_t slot) {
  Conn& c = conns_[slot];
  if (!c.direct) {
    shutdown(c.fd, SHUT_RDWR);  // ends both at once
    return;
  }
  // Cancels complete in the submitting task, without a worker thread.
  for (const OpKind kind : {OpKind::kRecv, OpKind::kSend}) {
    if (kind == OpKind::kRecv ? !c.recv_armed : c.send == nullptr) continue;
    io_uring_sqe* sqe = ring_->NextSqe();
    io_uring_prep_cancel64(sqe, EncodeOpTag({kind, c.generation, slot}), 0);
    io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kCancel, 0, 0}));
  }
}

void Shard::CloseSocket(net::ClientSocket socket) {
  if (!socket.direct) {
    close(socket.fd);
    return;
  }
  // Submitted after every earlier SQE on this slot (shutdown, the last
  // send), and the slot is free for the next accept once it has run.
  io_uring_sqe* sqe = ring_->NextSqe();
  io_uring_prep_close_direct(sqe, static_cast<unsigned>(socket.fd));
  io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kClose, 0, 0}));
  --direct_in_use_;
  direct_full_ = false;
  MaybeSwitchAccept();
}

}  // namespace telemq::shard
