// Shard: connections. Multishot recv into the engine, coalesced sends,
// closes, hand-off to the owner shard, and the session::Transport calls that
// queue output. Accepting them: shard_accept.cc.
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

}  // namespace

uint32_t Shard::AdoptConnection(net::ClientSocket socket, std::span<const uint8_t> already_read) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(conns_.size());
    conns_.emplace_back();
  }
  Conn& c = conns_[slot];
  c.fd = socket.fd;
  c.direct = socket.direct;
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
  SetSocket(sqe, c);
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
    if (c.send == nullptr && !c.out.empty() && !c.peer_closed && !c.socket_closed && sendable) {
      StartSend(slot);
    }
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
  SetSocket(sqe, c);
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
      ShutdownWrite(slot);
      c.lingering = true;
      c.close_deadline_ns = mono_ns_ + kLingerNs;
      return;
    }
    if (c.lingering && !stopping_ && mono_ns_ < c.close_deadline_ns) return;
    // End the multishot recv; its last completion comes back here.
    EndSocketIo(slot);
    c.shut = true;
    if (c.direct && c.shutdowns_in_flight == 0) {
      // Closed in the same submit as the cancel, so the FIN goes out this
      // turn rather than after the recv's last completion (a turn or two
      // later, under load). A new client may then take the slot before
      // that completion: socket_closed keeps this connection off it.
      CloseSocket({c.fd, true});
      c.socket_closed = true;
    }
    return;
  }
  if (c.shutdowns_in_flight > 0) return;  // its completion comes back here
  if (!c.socket_closed) CloseSocket({c.fd, c.direct});
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
      EndSocketIo(slot);
      c.shut = true;
    } else if (mono_ns_ >= c.close_deadline_ns && !c.shut) {
      // The client stopped reading: abort the pending send.
      TELEMQ_LOG(kInfo, "connection %u did not read its last %zu bytes in 5 s; aborting", slot,
                 c.out.size());
      EndSocketIo(slot);
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
  if (!c.direct) {
    MailHandOff(slot, {c.fd, false});
    return;
  }
  // The slot is this ring's: first move the socket into the owner's ring,
  // then mail it (OnSocketSent).
  io_uring_sqe* sqe = ring_->NextSqe();
  io::PrepMsgRingSendFd(sqe, group_->ring_fd(c.handoff_to), static_cast<unsigned>(c.fd),
                        EncodeOpTag({OpKind::kMailWake, 0, index_}));
  io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kSendSocket, c.generation, slot}));
}

void Shard::OnSocketSent(uint32_t slot, const io_uring_cqe& cqe) {
  Conn& c = conns_[slot];
  if (cqe.res == -ENFILE && ring_->features().fixed_fd_install) {
    // The owner's table is full (in a burst of connections the slots of
    // those still moving out count there too): move this one as a process
    // descriptor instead.
    TELEMQ_LOG(kDebug,
               "shard %u's direct descriptors are in use: connection %u moves there as "
               "a process descriptor",
               c.handoff_to, slot);
    io_uring_sqe* sqe = ring_->NextSqe();
    io::PrepInstallFixedFd(sqe, static_cast<unsigned>(c.fd));
    io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kInstallSocket, c.generation, slot}));
    return;
  }
  FinishSocketMove(slot, cqe);
}

void Shard::FinishSocketMove(uint32_t slot, const io_uring_cqe& cqe) {
  Conn& c = conns_[slot];
  const bool direct = io::DecodeOpTag(cqe.user_data).kind == OpKind::kSendSocket;
  // The owner's table, or the process's, holds its own reference to the
  // socket now (or the move failed): this ring's slot goes either way.
  CloseSocket({c.fd, true});
  if (cqe.res >= 0) {
    MailHandOff(slot, {cqe.res, direct});
    return;
  }
  TELEMQ_LOG(kWarning, "cannot move connection %u to shard %u: %s; closing it", slot, c.handoff_to,
             ErrnoText(-cqe.res));
  group_->ReleaseConnection();
  ReleaseSlot(slot);
}

void Shard::MailHandOff(uint32_t slot, net::ClientSocket socket) {
  Conn& c = conns_[slot];
  Mail mail;
  mail.kind = Mail::Kind::kHandOff;
  mail.from = index_;
  mail.socket = socket;
  mail.extra = std::make_unique<MailExtra>();
  mail.extra->bytes = std::move(c.partial);
  const uint32_t to = c.handoff_to;
  ReleaseSlot(slot);  // the socket now belongs to `to`; the admission count stays
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
