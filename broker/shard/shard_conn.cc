// Shard: connections. Accept with admission control, multishot recv into
// the engine, coalesced sends, closes, hand-off to the owner shard, and the
// session::Transport calls that queue output.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "broker/base/log.h"
#include "broker/net/listener.h"
#include "broker/shard/ownership.h"
#include "broker/shard/shard.h"
#include "protocol/common/errno_text.h"

namespace telemq::shard {

using io::EncodeOpTag;
using io::OpKind;

namespace {

constexpr int64_t kStuckCloseNs = 5'000'000'000;
// How long a connection we closed keeps reading (and dropping) what its
// client still sends, waiting for the client to close its side.
constexpr int64_t kLingerNs = 2'000'000'000;
constexpr int64_t kAcceptPauseNs = 100'000'000;
// Admission control (shard.h): new connections started per loop turn, and
// accepted ones allowed to wait before the shard stops accepting.
constexpr uint32_t kAdmitPerTurn = 64;
constexpr size_t kAcceptBacklog = 1024;

}  // namespace

void Shard::ArmAccept() {
  io_uring_sqe* sqe = ring_->NextSqe();
  io_uring_prep_multishot_accept(sqe, options_.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kAccept, 0, 0}));
  accept_armed_ = true;
}

void Shard::OnAccept(const io_uring_cqe& cqe) {
  if (!(cqe.flags & IORING_CQE_F_MORE)) accept_armed_ = false;
  if (cqe.res < 0) {
    const int err = -cqe.res;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
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
      if (accept_armed_) CancelAccept();
      return;
    }
    if (!stopping_ && err != ECANCELED) {
      TELEMQ_LOG(kWarning, "accept failed: %s", ErrnoText(err));
    }
  } else if (stopping_ || !group_->AdmitConnection()) {
    if (!stopping_) {
      TELEMQ_LOG(kWarning, "refusing connection from %s: max-connections reached",
                 net::PeerName(cqe.res));
    }
    close(cqe.res);
  } else if (admitted_this_turn_ < kAdmitPerTurn && waiting_head_ == waiting_accepts_.size()) {
    Admit(cqe.res);
  } else {
    waiting_accepts_.push_back(cqe.res);
    if (waiting_accepts_.size() - waiting_head_ >= kAcceptBacklog && accept_armed_) {
      CancelAccept();  // the listen backlog holds the rest until these are in
    }
  }
  MaybeArmAccept();
}

void Shard::Admit(int fd) {
  ++admitted_this_turn_;
  net::ConfigureClientSocket(fd);
  AdoptConnection(fd, {});
}

void Shard::AdmitWaiting() {
  while (waiting_head_ < waiting_accepts_.size() && admitted_this_turn_ < kAdmitPerTurn) {
    const int fd = waiting_accepts_[waiting_head_++];
    if (stopping_) {
      close(fd);
      group_->ReleaseConnection();
    } else {
      Admit(fd);
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

void Shard::CancelAccept() {
  io_uring_sqe* sqe = ring_->NextSqe();
  io_uring_prep_cancel64(sqe, EncodeOpTag({OpKind::kAccept, 0, 0}), 0);
  io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kCancel, 0, 0}));
}

uint32_t Shard::AdoptConnection(int fd, std::span<const uint8_t> already_read) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(conns_.size());
    conns_.emplace_back();
  }
  Conn& c = conns_[slot];
  c.fd = fd;
  ++live_conns_;
  engine_.OnConnectionOpened(slot);
  ArmRecv(slot);
  if (!already_read.empty()) Feed(slot, already_read);
  return slot;
}

void Shard::ArmRecv(uint32_t slot) {
  Conn& c = conns_[slot];
  io_uring_sqe* sqe = ring_->NextSqe();
  io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kRecv, c.generation, slot}));
  c.recv_armed = true;
}

void Shard::OnRecv(uint32_t slot, const io_uring_cqe& cqe) {
  const bool more = cqe.flags & IORING_CQE_F_MORE;
  if (!more) conns_[slot].recv_armed = false;
  if (cqe.flags & IORING_CQE_F_BUFFER) {
    const auto id = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    buffers_->NoteHandedOut();
    if (cqe.res > 0) {
      std::span<const uint8_t> data = buffers_->Data(id, static_cast<size_t>(cqe.res));
      Conn& c = conns_[slot];
      if (c.handing_off) {
        c.partial.insert(c.partial.end(), data.begin(), data.end());
      } else if (!c.closing) {
        Feed(slot, data);
      }
    }
    buffers_->Recycle(id);  // Feed copied whatever it did not consume
  }
  Conn& c = conns_[slot];
  if (cqe.res == 0 || (cqe.res < 0 && cqe.res != -ENOBUFS && cqe.res != -ECANCELED)) {
    // End of stream or a socket error: the client is gone.
    c.peer_closed = true;
    if (!c.closing && !c.handing_off) {
      engine_.OnConnectionClosed(slot);
      c.closing = true;
    }
  }
  if (c.handing_off) {
    if (!c.recv_armed) CompleteHandOff(slot);
    return;
  }
  // ENOBUFS or CQ overflow ended the multishot recv: re-arm it, also while
  // lingering (MaybeFinishClose).
  const bool reading = !c.closing || (c.lingering && !c.shut);
  if (!c.recv_armed && reading && !c.peer_closed) ArmRecv(slot);
  if (c.closing) MaybeFinishClose(slot);
}

void Shard::Feed(uint32_t slot, std::span<const uint8_t> data) {
  const uint32_t generation = conns_[slot].generation;
  auto still_mine = [&] {
    const Conn& c = conns_[slot];
    return c.fd >= 0 && c.generation == generation && !c.closing && !c.handing_off;
  };
  if (conns_[slot].partial.empty()) {
    const size_t used = engine_.OnBytes(slot, data);
    if (still_mine() && used < data.size()) {
      conns_[slot].partial.assign(data.begin() + static_cast<ptrdiff_t>(used), data.end());
    }
    return;
  }
  std::vector<uint8_t>& partial = conns_[slot].partial;
  partial.insert(partial.end(), data.begin(), data.end());
  const size_t used = engine_.OnBytes(slot, partial);
  if (!still_mine()) return;
  std::vector<uint8_t>& rest = conns_[slot].partial;
  if (used == rest.size()) {
    std::vector<uint8_t>().swap(rest);  // an idle connection keeps no buffer
  } else {
    rest.erase(rest.begin(), rest.begin() + static_cast<ptrdiff_t>(used));
  }
}

void Shard::MarkDirty(uint32_t slot) {
  Conn& c = conns_[slot];
  if (c.in_dirty) return;
  c.in_dirty = true;
  dirty_.push_back(slot);
}

void Shard::FlushSends() {
  // dirty_ may grow while iterating (a close finishing frees nothing new),
  // so index rather than range-for.
  for (size_t i = 0; i < dirty_.size(); ++i) {
    const uint32_t slot = dirty_[i];
    Conn& c = conns_[slot];
    c.in_dirty = false;
    if (c.fd < 0) continue;
    const bool sendable = c.holds.empty() || c.holds.front().position > c.sent;
    if (c.send == nullptr && !c.out.empty() && !c.peer_closed && sendable) StartSend(slot);
    if (c.closing) MaybeFinishClose(slot);
  }
  dirty_.clear();
}

void Shard::StartSend(uint32_t slot) {
  Conn& c = conns_[slot];
  std::unique_ptr<SendOp> op;
  if (free_sends_.empty()) {
    op = std::make_unique<SendOp>();
  } else {
    op = std::move(free_sends_.back());
    free_sends_.pop_back();
  }
  op->msg = msghdr{};
  op->msg.msg_iov = op->iov;
  // Up to the first held byte (FlushSends checked there is at least one).
  const size_t limit = c.holds.empty() ? SIZE_MAX : c.holds.front().position - c.sent;
  op->msg.msg_iovlen = static_cast<size_t>(c.out.FillIovecs(op->iov, kMaxIov, limit));
  io_uring_sqe* sqe = ring_->NextSqe();
  io_uring_prep_sendmsg(sqe, c.fd, &op->msg, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kSend, c.generation, slot}));
  c.send = op.release();
}

void Shard::OnSend(uint32_t slot, const io_uring_cqe& cqe) {
  Conn& c = conns_[slot];
  free_sends_.emplace_back(c.send);
  c.send = nullptr;
  if (cqe.res > 0) {
    c.out.Consume(chunks_, static_cast<size_t>(cqe.res));
    c.sent += static_cast<uint64_t>(cqe.res);
    if (!c.out.empty()) {
      MarkDirty(slot);  // short send, or more was queued meanwhile
    } else if (!c.closing) {
      engine_.OnOutputDrained(slot);
    }
  } else if (cqe.res < 0) {
    c.out.Clear(chunks_);
    c.peer_closed = true;
    if (!c.closing && !c.handing_off) {
      TELEMQ_LOG(kDebug, "send failed on connection %u: %s", slot, ErrnoText(-cqe.res));
      engine_.OnConnectionClosed(slot);
      c.closing = true;
    }
  }
  if (c.closing) MaybeFinishClose(slot);
}

void Shard::CloseConnection(session::ConnId slot, session::Closer by) {
  Conn& c = conns_[slot];
  if (c.closing) return;
  c.closing = true;
  c.client_left = by == session::Closer::kClient;
  c.close_deadline_ns = mono_ns_ + kStuckCloseNs;
  closing_.push_back(slot);
  MarkDirty(slot);
}

void Shard::MaybeFinishClose(uint32_t slot) {
  Conn& c = conns_[slot];
  if (c.fd < 0 || !c.closing || c.send != nullptr) return;
  if (!c.out.empty() && !c.peer_closed) return;  // FlushSends will send it
  if (c.recv_armed) {
    if (c.shut) return;  // the recv's last completion comes back here
    if (!c.lingering && !c.peer_closed && !c.client_left && !stopping_) {
      // Lingering close. The client may still be writing (PUBRELs for the
      // PUBRECs before our DISCONNECT, say): closing now with its bytes
      // unread, or receiving them after close(), makes the kernel answer
      // with a reset, and the client's next send fails before it has read
      // our DISCONNECT and its reason code. So send the FIN after the last
      // byte and read, dropping it, what still comes (OnRecv) until the
      // client closes its side or kLingerNs passes (ForceStuckCloses).
      // A client that sent DISCONNECT has nothing more to send: it is
      // closed at once, and its slot counts against max-connections no
      // longer.
      shutdown(c.fd, SHUT_WR);
      c.lingering = true;
      c.close_deadline_ns = mono_ns_ + kLingerNs;
      return;
    }
    if (c.lingering && !stopping_ && mono_ns_ < c.close_deadline_ns) return;
    // End the multishot recv; its last completion comes back here.
    shutdown(c.fd, SHUT_RDWR);
    c.shut = true;
    return;
  }
  close(c.fd);
  group_->ReleaseConnection();
  ReleaseSlot(slot);
}

void Shard::ForceStuckCloses() {
  for (size_t i = 0; i < closing_.size();) {
    const uint32_t slot = closing_[i];
    Conn& c = conns_[slot];
    if (c.fd < 0 || !c.closing) {
      closing_[i] = closing_.back();
      closing_.pop_back();
      continue;
    }
    if (c.lingering && !c.shut && (stopping_ || mono_ns_ >= c.close_deadline_ns)) {
      // The client kept its side open after our FIN: stop reading.
      TELEMQ_LOG(kDebug, "connection %u: the client kept its side open after the broker's FIN",
                 slot);
      shutdown(c.fd, SHUT_RDWR);
      c.shut = true;
    } else if (mono_ns_ >= c.close_deadline_ns && !c.shut) {
      // The client stopped reading: abort the pending send.
      TELEMQ_LOG(kInfo, "connection %u did not read its last %zu bytes in 5 s; aborting", slot,
                 c.out.size());
      shutdown(c.fd, SHUT_RDWR);
      c.shut = true;
    }
    ++i;
  }
}

void Shard::ReleaseSlot(uint32_t slot) {
  Conn& c = conns_[slot];
  c.out.Clear(chunks_);
  std::vector<uint8_t>().swap(c.partial);
  const uint32_t generation = c.generation + 1;
  c = Conn();
  c.generation = generation;
  free_slots_.push_back(slot);
  --live_conns_;
}

void Shard::HandOff(session::ConnId slot, uint32_t owner, std::span<const uint8_t> unprocessed) {
  Conn& c = conns_[slot];
  // `unprocessed` may point into c.partial: copy before replacing it.
  std::vector<uint8_t> bytes(unprocessed.begin(), unprocessed.end());
  c.partial = std::move(bytes);
  c.handing_off = true;
  c.handoff_to = owner;
  if (c.recv_armed) {
    io_uring_sqe* sqe = ring_->NextSqe();
    io_uring_prep_cancel64(sqe, EncodeOpTag({OpKind::kRecv, c.generation, slot}), 0);
    io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kCancel, 0, 0}));
  }
  // Otherwise OnRecv, which is on the stack, completes the hand-off.
}

void Shard::CompleteHandOff(uint32_t slot) {
  Conn& c = conns_[slot];
  Mail mail;
  mail.kind = Mail::Kind::kHandOff;
  mail.from = index_;
  mail.fd = c.fd;
  mail.extra = std::make_unique<MailExtra>();
  mail.extra->bytes = std::move(c.partial);
  const uint32_t to = c.handoff_to;
  ReleaseSlot(slot);  // the fd now belongs to `to`; the admission count stays
  Post(to, std::move(mail));
}

uint32_t Shard::OwnerShard(std::string_view client_id) const {
  return OwnerShardOf(client_id, group_->size());
}

std::span<uint8_t> Shard::ReserveOutput(session::ConnId c, size_t n) {
  return conns_[c].out.Reserve(chunks_, n);
}

void Shard::CommitOutput(session::ConnId c, size_t n) {
  conns_[c].out.Commit(n);
  conns_[c].committed += n;
  MarkDirty(c);
}

size_t Shard::OutputBytes(session::ConnId c) const { return conns_[c].out.size(); }

}  // namespace telemq::shard
