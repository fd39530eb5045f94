#include "broker/shard/shard.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/base/log.h"
#include "broker/base/message_pool.h"

namespace telemq::shard {

using io::EncodeOpTag;
using io::OpKind;
using io::OpTag;

namespace {

constexpr int64_t kShutdownGraceNs = 2'000'000'000;
// A turn that handled this many completions makes the next wait gather
// (ShardOptions::busy_wait_ns), for at most kMaxGatheredCompletions.
constexpr unsigned kBusyTurnCompletions = 4;
constexpr unsigned kMaxGatheredCompletions = 32;

}  // namespace

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
    if (c.fd >= 0 && !c.direct) close(c.fd);  // the ring closes its table's
  }
  if (options_.listen_fd >= 0) close(options_.listen_fd);
}

int64_t Shard::ClockNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
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
  SetUpDirectDescriptors();
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
  absl::Status s = ring_->Submit();
  if (s.ok() && f.msg_ring) group_->SetRingFd(index_, ring_->raw()->ring_fd);
  return s;
}

void Shard::UpdateClock() {
  mono_ns_ = ClockNs(CLOCK_MONOTONIC);
  const int64_t real_ns = ClockNs(CLOCK_REALTIME);
  engine_.SetClock(mono_ns_, real_ns);
  if (log_ != nullptr) log_->SetClock(real_ns, mono_ns_);
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
    MessagePool::FlushRemote();  // the blocks of other shards' messages freed this turn
    // A log write in flight references the partition's buffers: never leave
    // before it completes.
    const bool log_busy = log_ != nullptr && log_->partition_store().write_in_flight();
    if (stopping_ && (live_conns_ == 0 || mono_ns_ >= shutdown_deadline_ns_) && !log_busy) {
      (void)ring_->Submit();  // the wake-ups of other shards for this turn's mail
      break;
    }

    absl::Duration timeout = absl::InfiniteDuration();
    int64_t deadline = next_timer_ns_;
    if (stopping_) deadline = std::min(deadline, shutdown_deadline_ns_);
    if (!closing_.empty()) deadline = std::min(deadline, mono_ns_ + 100'000'000);
    if (waiting_head_ < waiting_accepts_.size()) deadline = mono_ns_;  // admit more next turn
    if (log_ != nullptr) deadline = std::min(deadline, log_->next_sync_ns());
    if (deadline != INT64_MAX)
      timeout = absl::Nanoseconds(std::max<int64_t>(0, deadline - mono_ns_));
    // Under load, gather: many sockets each with one small segment cost a
    // recv, an ACK and a wake-up apiece; waiting a little lets more arrive
    // per turn. Measured at 60k single-PUBLISH writes/s from 100 clients:
    // broker CPU 85-88 % -> 63 % of a core, p50 +30-60 us
    // (docs/benchmarks.md). Not while the log has a write in flight: a
    // PUBACK waiting for it would wait longer.
    unsigned wait_nr = 1;
    if (options_.busy_wait_ns > 0 && last_turn_completions_ >= kBusyTurnCompletions && !log_busy) {
      wait_nr = std::min(last_turn_completions_, kMaxGatheredCompletions);
      timeout = std::min(timeout, absl::Nanoseconds(options_.busy_wait_ns));
    }

    // Sleep handshake with senders (shard_group.h).
    group_->sleeping(index_).store(true, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    bool mail = false;
    for (uint32_t from = 0; from < group_->size() && !mail; ++from) {
      mail = from != index_ && !group_->ring(from, index_).EmptyApprox();
    }
    absl::Status s = mail || group_->stopping().load() != stopping_
                         ? ring_->Submit()
                         : ring_->SubmitAndWait(wait_nr, timeout);
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
    last_turn_completions_ = ready;
    DrainMailboxes();
    ring_->ForEachCompletion([this](const io_uring_cqe& cqe) { HandleCompletion(cqe); }, ready);
    AdoptHandOffs();
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
  // Direct descriptors close with the ring (~Shard).
  for (size_t i = waiting_head_; i < waiting_accepts_.size(); ++i) {
    if (!waiting_accepts_[i].direct) close(waiting_accepts_[i].fd);
    group_->ReleaseConnection();
  }
  waiting_accepts_.clear();
  waiting_head_ = 0;
  for (uint32_t slot = 0; slot < conns_.size(); ++slot) {
    Conn& c = conns_[slot];
    if (c.fd < 0) continue;
    c.out.Clear(chunks_);
    if (!c.direct) close(c.fd);
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
    case OpKind::kShutdown: {
      // The slot stays until this completion (MaybeFinishClose): always live.
      Conn& c = conns_[tag.index];
      --c.shutdowns_in_flight;
      if (c.closing) MaybeFinishClose(tag.index);
      return;
    }
    case OpKind::kSendSocket:
      // The slot waits for this completion (CompleteHandOff): always live.
      OnSocketSent(tag.index, cqe);
      return;
    case OpKind::kInstallSocket:
      FinishSocketMove(tag.index, cqe);  // as kSendSocket
      return;
    case OpKind::kWake:
      ArmWake();
      return;
    case OpKind::kMailWake:
      // Posted by another shard: its work is done (the wait returned, the
      // mail is drained). Here only when this shard's MSG_RING to shard
      // `index` failed: wake it the other way.
      if (cqe.res < 0) group_->Wake(tag.index);
      return;
    case OpKind::kLogWrite:
    case OpKind::kLogSync:
      OnLogCompletion(tag.kind, cqe.res);
      return;
    default:
      return;  // cancels and closes carry nothing to act on
  }
}

void Shard::ArmWake() {
  io_uring_sqe* sqe = ring_->NextSqe();
  io_uring_prep_read(sqe, group_->wake_fd(index_), &wake_value_, sizeof(wake_value_), 0);
  io_uring_sqe_set_data64(sqe, EncodeOpTag({OpKind::kWake, 0, 0}));
}

}  // namespace telemq::shard
