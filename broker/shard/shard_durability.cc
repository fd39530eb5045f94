// Shard: durability. Group commit of the records appended during a loop
// turn (one write, linked to fdatasync in the sync mode), output held behind
// records not yet durable, log maintenance (retention), and the state
// restored from the log at start-up.
#include <sys/socket.h>

#include <algorithm>
#include <atomic>

#include "broker/shard/shard.h"

namespace telemq::shard {

using io::EncodeOpTag;
using io::OpKind;

namespace {

// The longest a sync-mode commit waits for the clients the previous sync
// acknowledged (see SubmitLogWrite), and at most half the previous commit's
// time: a round trip on loopback is 30-100 us, one fdatasync 0.2-1 ms.
constexpr int64_t kMaxGatherNs = 200'000;

}  // namespace

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
  ++unsubmitted_holders_;
}

void Shard::SubmitLogWrite() {
  // Commit gathering. Publishers that wait for each PUBACK before the next
  // PUBLISH reply within a round trip of the sync that acknowledged them.
  // Committing the first reply at once would leave the others for the sync
  // after, and the publishers would then split into two groups whose commits
  // alternate, each paying a whole sync per message. Measured with 10 such
  // publishers (bench/compare fan-in-qos1-serial): docs/benchmarks.md.
  // expected_holders_ is 0 from a submit until its completion sets it.
  if (unsubmitted_holders_ < expected_holders_ && mono_ns_ < gather_until_ns_ && !stopping_) {
    WakeAt(gather_until_ns_);
    return;
  }
  const storage::WriteRequest* w = log_->PrepareWrite();
  if (w == nullptr) return;
  unsubmitted_holders_ = 0;
  expected_holders_ = 0;
  log_submitted_ns_ = mono_ns_;
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
    return;
  }
  const uint32_t released = ReleaseHolds();
  if (log_->syncs_every_write()) {
    expected_holders_ = unsubmitted_holders_ + released;
    gather_until_ns_ = mono_ns_ + std::min(kMaxGatherNs, (mono_ns_ - log_submitted_ns_) / 2);
  }
}

uint32_t Shard::ReleaseHolds() {
  const uint64_t released = log_->release_offset();
  const uint64_t unsubmitted = log_->unsubmitted_from();
  uint32_t idle_released = 0;
  for (size_t i = 0; i < held_.size();) {
    const uint32_t slot = held_[i];
    Conn& c = conns_[slot];
    size_t done = 0;
    while (done < c.holds.size() && c.holds[done].offset < released) ++done;
    if (done > 0) {
      c.holds.erase(c.holds.begin(), c.holds.begin() + static_cast<ptrdiff_t>(done));
      MarkDirty(slot);
      // A client with nothing waiting for the next commit is one it may wait
      // for; one with records already in it is counted there.
      if (c.holds.empty() || c.holds.back().offset < unsubmitted) ++idle_released;
    }
    if (c.holds.empty()) {
      held_[i] = held_.back();
      held_.pop_back();
    } else {
      ++i;
    }
  }
  return idle_released;
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
      EndSocketIo(slot);
      c.shut = true;
    }
  }
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

}  // namespace telemq::shard
