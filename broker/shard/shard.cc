#include "broker/shard/shard.h"

#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "broker/base/log.h"
#include "broker/net/listener.h"
#include "broker/shard/ownership.h"

namespace telemq::shard {

using io::EncodeOpTag;
using io::OpKind;
using io::OpTag;

namespace {

// Segments per sendmsg: 64 chunks of 16 KiB is 1 MiB per syscall, well past
// the point where the syscall's cost stops mattering.
constexpr int kMaxIov = 64;
constexpr uint16_t kBufferGroup = 1;
constexpr int64_t kStuckCloseNs = 5'000'000'000;
constexpr int64_t kShutdownGraceNs = 2'000'000'000;
constexpr int64_t kAcceptPauseNs = 100'000'000;
// Admission control (shard.h): new connections started per loop turn, and
// accepted ones allowed to wait before the shard stops accepting.
constexpr uint32_t kAdmitPerTurn = 64;
constexpr size_t kAcceptBacklog = 1024;

int64_t ClockNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

struct Shard::SendOp {
  msghdr msg{};
  iovec iov[kMaxIov];
};

Shard::Shard(const ShardOptions& options, ShardGroup* group)
    : index_(options.index),
      group_(group),
      options_(options),
      outbox_(group->size()),
      wake_targets_(group->size()),
      engine_(options.engine, this, options.log),
      log_(options.log) {
  // Telemetry topics repeat endlessly: a topic's match result is cached
  // until a subscription change bumps the trie's version (docs/router.md).
  local_.EnableMatchCache(options.match_cache_entries);
  interest_.EnableMatchCache(options.match_cache_entries);
}

Shard::~Shard() {
  for (Conn& c : conns_) {
    c.out.Clear(chunks_);
    if (c.fd >= 0) close(c.fd);
  }
  if (options_.listen_fd >= 0) close(options_.listen_fd);
}

absl::Status Shard::Init() {
  auto ring = io::Ring::Create({.sq_entries = 4096});
  if (!ring.ok()) return ring.status();
  ring_ = *std::move(ring);
  const io::RingFeatures& f = ring_->features();
  if (!f.multishot_accept || !f.multishot_recv) {
    return absl::FailedPreconditionError(
        "this kernel lacks io_uring multishot accept/recv (Linux 6.0 or later is required)");
  }
  auto buffers = io::BufferRing::Create(ring_->raw(), kBufferGroup, options_.recv_buffers,
                                        options_.recv_buffer_size);
  if (!buffers.ok()) return buffers.status();
  buffers_.emplace(*std::move(buffers));
  UpdateClock();
  // Before the first accept: a client that connects finds its session.
  if (options_.recovered != nullptr) Restore(options_.recovered);
  if (log_ != nullptr) {
    // The recovered state, written afresh: from here on, older segments are
    // needed only for what sessions have not consumed.
    engine_.WriteCheckpoint();
    next_maintain_ns_ = mono_ns_ + options_.maintain_interval_ns;
    WakeAt(next_maintain_ns_);
  }
  ArmAccept();
  ArmWake();
  return ring_->Submit();
}

void Shard::UpdateClock() {
  mono_ns_ = ClockNs(CLOCK_MONOTONIC);
  const int64_t real_ns = ClockNs(CLOCK_REALTIME);
  engine_.SetClock(mono_ns_, real_ns);
  if (log_ != nullptr) log_->SetClock(real_ns, mono_ns_);
}

void Shard::MaintainLog() {
  next_maintain_ns_ = mono_ns_ + options_.maintain_interval_ns;
  engine_.NeededOffsets(&needed_scratch_);
  for (uint32_t p = 0; p < group_->size(); ++p) {
    const uint64_t need = p < needed_scratch_.size() ? needed_scratch_[p] : UINT64_MAX;
    group_->needed(index_, p).store(need, std::memory_order_relaxed);
  }
  uint64_t needed = UINT64_MAX;
  for (uint32_t s = 0; s < group_->size(); ++s) {
    needed = std::min(needed, group_->needed(s, index_).load(std::memory_order_relaxed));
  }
  log_->Maintain(needed, ClockNs(CLOCK_REALTIME));
}

void Shard::Restore(persist::RecoveredState* recovered) {
  // Every shard learns every restored subscription's owner directly, so no
  // PUBLISH can race ahead of the interest mail of a restored session.
  for (const auto& [filter, owner] : recovered->interest) interest_.Add(filter, owner);
  for (const MessageRef& m : recovered->retained) engine_.ApplyRetained(m);
  if (index_ < recovered->sessions.size()) {
    for (session::RestoredSession& s : recovered->sessions[index_]) engine_.Restore(std::move(s));
    recovered->sessions[index_].clear();
  }
}

void Shard::Run() {
  SetLogShard(static_cast<int>(index_));
  UpdateClock();
  for (;;) {
    if (log_ != nullptr) {
      engine_.FlushConsumed();
      if (log_->TakeRolled()) engine_.WriteCheckpoint();  // at the new segment's start
      SubmitLogWrite();
    }
    FlushSends();
    FlushOutbox();
    // A log write in flight references the partition's buffers: never leave
    // before it completes.
    const bool log_busy = log_ != nullptr && log_->partition_store().write_in_flight();
    if (stopping_ && (live_conns_ == 0 || mono_ns_ >= shutdown_deadline_ns_) && !log_busy) break;

    absl::Duration timeout = absl::InfiniteDuration();
    int64_t deadline = next_timer_ns_;
    if (stopping_) deadline = std::min(deadline, shutdown_deadline_ns_);
    if (!closing_.empty()) deadline = std::min(deadline, mono_ns_ + 100'000'000);
    if (waiting_head_ < waiting_accepts_.size()) deadline = mono_ns_;  // admit more next turn
    if (log_ != nullptr) deadline = std::min(deadline, log_->next_sync_ns());
    if (deadline != INT64_MAX)
      timeout = absl::Nanoseconds(std::max<int64_t>(0, deadline - mono_ns_));

    // Sleep handshake with senders (shard_group.h).
    group_->sleeping(index_).store(true, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    bool mail = false;
    for (uint32_t from = 0; from < group_->size() && !mail; ++from) {
      mail = from != index_ && !group_->ring(from, index_).EmptyApprox();
    }
    absl::Status s = mail || group_->stopping().load() != stopping_
                         ? ring_->Submit()
                         : ring_->SubmitAndWait(1, timeout);
    group_->sleeping(index_).store(false, std::memory_order_relaxed);
    if (!s.ok()) {
      TELEMQ_LOG(kError, "io_uring wait failed: %s; stopping this shard", s.ToString());
      break;
    }

    UpdateClock();
    admitted_this_turn_ = 0;
    AdmitWaiting();
    // Only completions posted before the drain: mail pushed before them is
    // then applied first (see the class comment). With DEFER_TASKRUN none
    // can be posted meanwhile; the fallback ring modes need the count.
    const unsigned ready = ring_->ReadyCompletions();
    DrainMailboxes();
    ring_->ForEachCompletion([this](const io_uring_cqe& cqe) { HandleCompletion(cqe); }, ready);
    buffers_->Publish();
    if (mono_ns_ >= next_timer_ns_) {
      // OnTimer returns the engine's next deadline; the shard's own (an
      // accept pause) is re-registered beside it.
      next_timer_ns_ = INT64_MAX;
      WakeAt(engine_.OnTimer());
      if (accept_paused_until_ns_ > mono_ns_) WakeAt(accept_paused_until_ns_);
      if (log_ != nullptr) {
        if (mono_ns_ >= next_maintain_ns_) MaintainLog();
        WakeAt(next_maintain_ns_);
      }
    }
    if (!closing_.empty()) ForceStuckCloses();
    MaybeArmAccept();
    if (!stopping_ && group_->stopping().load()) Shutdown();
  }
  // Whatever is left after the grace period is closed without ceremony.
  for (size_t i = waiting_head_; i < waiting_accepts_.size(); ++i) {
    close(waiting_accepts_[i]);
    group_->ReleaseConnection();
  }
  waiting_accepts_.clear();
  waiting_head_ = 0;
  for (uint32_t slot = 0; slot < conns_.size(); ++slot) {
    Conn& c = conns_[slot];
    if (c.fd < 0) continue;
    c.out.Clear(chunks_);
    close(c.fd);
    c.fd = -1;
    group_->ReleaseConnection();
  }
  if (log_ != nullptr) {
    if (absl::Status s = log_->Close(); !s.ok()) {
      TELEMQ_LOG(kError, "log partition %u not flushed at shutdown: %s", index_,
                 std::string(s.message()));
    }
  }
}

void Shard::Shutdown() {
  stopping_ = true;
  shutdown_deadline_ns_ = mono_ns_ + kShutdownGraceNs;
  if (accept_armed_) CancelAccept();
  engine_.ShutdownAll();
}

void Shard::HandleCompletion(const io_uring_cqe& cqe) {
  const OpTag tag = io::DecodeOpTag(cqe.user_data);
  switch (tag.kind) {
    case OpKind::kAccept:
      OnAccept(cqe);
      return;
    case OpKind::kRecv: {
      const bool live = tag.index < conns_.size() && conns_[tag.index].fd >= 0 &&
                        (conns_[tag.index].generation & io::kGenerationMask) == tag.generation;
      if (live) {
        OnRecv(tag.index, cqe);
      } else if (cqe.flags & IORING_CQE_F_BUFFER) {
        buffers_->NoteHandedOut();
        buffers_->Recycle(static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
      }
      return;
    }
    case OpKind::kSend:
      OnSend(tag.index, cqe);
      return;
    case OpKind::kWake:
      ArmWake();
      return;
    case OpKind::kLogWrite:
    case OpKind::kLogSync:
      OnLogCompletion(tag.kind, cqe.res);
      return;
    default:
      return;  // cancels and closes carry nothing to act on
  }
}

void Shard::ArmAccept() {
  io_uring_sqe* sqe = ring_->NextSqe();
  io_uring_prep_multishot_accept(sqe, options_.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kAccept, 0, 0}));
  accept_armed_ = true;
}

void Shard::ArmWake() {
  io_uring_sqe* sqe = ring_->NextSqe();
  io_uring_prep_read(sqe, group_->wake_fd(index_), &wake_value_, sizeof(wake_value_), 0);
  io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kWake, 0, 0}));
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
                   std::strerror(err), static_cast<unsigned long long>(accept_errors_suppressed_));
        accept_errors_suppressed_ = 0;
        next_accept_error_log_ns_ = mono_ns_ + 1'000'000'000;
      }
      if (accept_armed_) CancelAccept();
      return;
    }
    if (!stopping_ && err != ECANCELED) {
      TELEMQ_LOG(kWarning, "accept failed: %s", std::strerror(err));
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
  if (!c.recv_armed && !c.closing && !c.peer_closed) ArmRecv(slot);  // ENOBUFS or CQ overflow
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
      TELEMQ_LOG(kDebug, "send failed on connection %u: %s", slot, std::strerror(-cqe.res));
      engine_.OnConnectionClosed(slot);
      c.closing = true;
    }
  }
  if (c.closing) MaybeFinishClose(slot);
}

void Shard::CloseConnection(session::ConnId slot) {
  Conn& c = conns_[slot];
  if (c.closing) return;
  c.closing = true;
  c.close_deadline_ns = mono_ns_ + kStuckCloseNs;
  closing_.push_back(slot);
  MarkDirty(slot);
}

void Shard::MaybeFinishClose(uint32_t slot) {
  Conn& c = conns_[slot];
  if (c.fd < 0 || !c.closing || c.send != nullptr) return;
  if (!c.out.empty() && !c.peer_closed) return;  // FlushSends will send it
  if (c.recv_armed) {
    // End the multishot recv; its last completion comes back here.
    if (!c.shut) {
      shutdown(c.fd, SHUT_RDWR);
      c.shut = true;
    }
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
    if (mono_ns_ >= c.close_deadline_ns && !c.shut) {
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

void Shard::HoldOutput(session::ConnId slot, uint64_t offset) {
  if (log_ == nullptr || !log_->holds_output() || offset < log_->release_offset()) return;
  Conn& c = conns_[slot];
  if (!c.holds.empty() && c.holds.back().offset >= log_->unsubmitted_from()) {
    // Both records are in no write yet: they become durable together, so
    // one hold serves (the usual case: many PUBACKs in one turn).
    c.holds.back().offset = std::max(c.holds.back().offset, offset);
    return;
  }
  if (c.holds.empty()) held_.push_back(slot);
  c.holds.push_back({c.committed, offset});
}

void Shard::SubmitLogWrite() {
  const storage::WriteRequest* w = log_->PrepareWrite();
  if (w == nullptr) return;
  const int fd = w->file->fd();
  log_sync_linked_ = w->sync && !w->iov.empty();
  log_write_result_ = 0;
  if (!w->iov.empty()) {
    io_uring_sqe* sqe = ring_->NextSqe();
    io_uring_prep_writev(sqe, fd, w->iov.data(), static_cast<unsigned>(w->iov.size()), w->position);
    io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kLogWrite, 0, index_}));
    // The sync runs only after the write succeeded in full; a failed or
    // short write cancels it (-ECANCELED), which fails the partition.
    if (w->sync) sqe->flags |= IOSQE_IO_LINK;
  }
  if (w->sync) {
    io_uring_sqe* sqe = ring_->NextSqe();
    io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
    io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kLogSync, 0, index_}));
  }
}

void Shard::OnLogCompletion(OpKind kind, int res) {
  if (kind == OpKind::kLogWrite && log_sync_linked_) {
    log_write_result_ = res;  // the linked sync completes the request
    return;
  }
  if (kind == OpKind::kLogWrite) {
    log_->CompleteWrite(res, 0);
  } else {
    log_->CompleteWrite(log_write_result_, res);
  }
  if (log_->failed()) {
    FailHeldConnections();
  } else {
    ReleaseHolds();
  }
}

void Shard::ReleaseHolds() {
  const uint64_t released = log_->release_offset();
  for (size_t i = 0; i < held_.size();) {
    const uint32_t slot = held_[i];
    Conn& c = conns_[slot];
    size_t done = 0;
    while (done < c.holds.size() && c.holds[done].offset < released) ++done;
    if (done > 0) {
      c.holds.erase(c.holds.begin(), c.holds.begin() + static_cast<ptrdiff_t>(done));
      MarkDirty(slot);
    }
    if (c.holds.empty()) {
      held_[i] = held_.back();
      held_.pop_back();
    } else {
      ++i;
    }
  }
}

void Shard::FailHeldConnections() {
  // What these connections wait for will never be durable: their clients
  // must not get the acknowledgements. Drop the connections unflushed; the
  // clients retry elsewhere or later.
  for (uint32_t slot : held_) {
    Conn& c = conns_[slot];
    if (c.fd < 0 || c.holds.empty()) continue;
    if (!c.closing) {
      engine_.Abort(slot, mqtt::ReasonCode::kUnspecifiedError,
                    "the log failed before this client's messages were stored");
    }
    if (!c.shut) {
      shutdown(c.fd, SHUT_RDWR);
      c.shut = true;
    }
  }
}

size_t Shard::OutputBytes(session::ConnId c) const { return conns_[c].out.size(); }

void Shard::DeliverLocal(const MessageRef& message, session::SessionId publisher,
                         router::SharedSelection shared) {
  local_.Match(message->topic(), publisher, &match_, shared);
  if (!match_.empty()) engine_.Deliver(message, match_);
}

void Shard::Route(const MessageRef& message, session::SessionId publisher) {
  if (group_->size() == 1) {
    DeliverLocal(message, publisher, router::SharedSelection::All());
    return;
  }
  interest_.Match(message->topic(), &interest_match_);
  router::ShardMask targets = interest_match_.shards;
  // Shared groups: one shard each (PickShard prefers this one). Rare, so the
  // per-target key lists are built only when a group matched.
  using Keys = absl::InlinedVector<router::SharedGroupKey, 1>;
  absl::InlinedVector<Keys, 8> keys;
  if (!interest_match_.shared.empty()) {
    keys.resize(group_->size());
    for (const router::SharedInterest& si : interest_match_.shared) {
      const uint32_t t = router::PickShard(si.shards, index_, shared_rotation_++);
      keys[t].push_back(si.key);
      targets |= router::ShardMask{1} << t;
    }
  }
  for (uint32_t t = 0; t < group_->size(); ++t) {
    if (!(targets & (router::ShardMask{1} << t))) continue;
    const absl::Span<const router::SharedGroupKey> for_t =
        keys.empty() ? absl::Span<const router::SharedGroupKey>() : absl::MakeConstSpan(keys[t]);
    if (t == index_) {
      DeliverLocal(message, publisher, router::SharedSelection::Only(for_t));
      continue;
    }
    Mail mail;
    mail.kind = Mail::Kind::kPublish;
    mail.from = index_;
    mail.message = message;
    mail.shared_keys.assign(for_t.begin(), for_t.end());
    Post(t, std::move(mail));
  }
}

void Shard::RouteRetained(const MessageRef& message) {
  engine_.ApplyRetained(message);
  for (uint32_t t = 0; t < group_->size(); ++t) {
    if (t == index_) continue;
    Mail mail;
    mail.kind = Mail::Kind::kRetained;
    mail.from = index_;
    mail.message = message;
    Post(t, std::move(mail));
  }
}

router::SubscribeResult Shard::Subscribe(session::SessionId s, std::string_view filter,
                                         const router::SubscriptionOptions& options) {
  const router::SubscribeResult r = local_.Subscribe(s, filter, options);
  if (r.interest_added && group_->size() > 1) {
    interest_.Add(filter, index_);
    for (uint32_t t = 0; t < group_->size(); ++t) {
      if (t == index_) continue;
      Mail mail;
      mail.kind = Mail::Kind::kInterestAdd;
      mail.from = index_;
      mail.extra = std::make_unique<MailExtra>();
      mail.extra->subscription = std::string(filter);
      Post(t, std::move(mail));
    }
  }
  return r;
}

void Shard::Unsubscribe(session::SessionId s, std::string_view filter) {
  const router::UnsubscribeResult r = local_.Unsubscribe(s, filter);
  if (r.interest_removed && group_->size() > 1) {
    interest_.Remove(filter, index_);
    for (uint32_t t = 0; t < group_->size(); ++t) {
      if (t == index_) continue;
      Mail mail;
      mail.kind = Mail::Kind::kInterestRemove;
      mail.from = index_;
      mail.extra = std::make_unique<MailExtra>();
      mail.extra->subscription = std::string(filter);
      Post(t, std::move(mail));
    }
  }
}

void Shard::Post(uint32_t to, Mail mail) {
  wake_targets_[to] = true;
  if (outbox_[to].empty() && group_->ring(index_, to).TryPush(std::move(mail))) return;
  // The ring is full: keep order by queueing behind what is already waiting.
  outbox_[to].push_back(std::move(mail));
}

void Shard::FlushOutbox() {
  for (uint32_t t = 0; t < group_->size(); ++t) {
    std::vector<Mail>& pending = outbox_[t];
    size_t sent = 0;
    while (sent < pending.size() && group_->ring(index_, t).TryPush(std::move(pending[sent]))) {
      ++sent;
    }
    pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(sent));
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (uint32_t t = 0; t < group_->size(); ++t) {
    if (!wake_targets_[t]) continue;
    wake_targets_[t] = false;
    if (group_->sleeping(t).load(std::memory_order_seq_cst)) group_->Wake(t);
  }
}

void Shard::DrainMailboxes() {
  for (uint32_t from = 0; from < group_->size(); ++from) {
    if (from == index_) continue;
    SpscRing<Mail>& ring = group_->ring(from, index_);
    while (std::optional<Mail> mail = ring.TryPop()) {
      switch (mail->kind) {
        case Mail::Kind::kPublish:
          if (!stopping_) {
            DeliverLocal(mail->message, router::kNoSession,
                         router::SharedSelection::Only(mail->shared_keys));
          }
          break;
        case Mail::Kind::kRetained:
          engine_.ApplyRetained(mail->message);
          break;
        case Mail::Kind::kInterestAdd:
          interest_.Add(mail->extra->subscription, mail->from);
          break;
        case Mail::Kind::kInterestRemove:
          interest_.Remove(mail->extra->subscription, mail->from);
          break;
        case Mail::Kind::kHandOff:
          if (stopping_) {
            close(mail->fd);
            group_->ReleaseConnection();
          } else {
            AdoptConnection(mail->fd, mail->extra->bytes);
          }
          break;
      }
    }
  }
}

}  // namespace telemq::shard
