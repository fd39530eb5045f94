// Worker: the publishing step and the handling of packets from the broker.
#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "bench/loadgen/clock.h"
#include "bench/loadgen/payload.h"
#include "bench/loadgen/worker.h"

namespace telemq::bench {
namespace {

// A publisher stops encoding while this much is still unwritten: the socket
// is full and more would only queue in our memory.
constexpr size_t kMaxPendingBytes = size_t{256} * 1024;
// A publisher blocked by the owed-message bound for this long writes the owed
// messages off (counted as a stall): the broker dropped them, and waiting
// longer would stall the run.
constexpr uint64_t kStallNs = 1'000'000'000;

}  // namespace

void Worker::SetWindow(Connection& c, uint32_t window) {
  c.window = std::max<uint32_t>(1, window);
  // Packet ids cycle through 1..pid_cycle, a multiple of the window, so the
  // ids in flight (at most `window` consecutive ones) map to distinct slots.
  c.pid_cycle = (65535 / c.window) * c.window;
  c.pid_sent_ns.assign(c.window, 0);
  c.next_pid = 1;
}

bool Worker::TakePacketId(Connection& c, uint64_t now, uint16_t* pid) {
  if (c.pid_sent_ns.empty()) SetWindow(c, c.window);
  // Hysteresis, as for the owed bound: a full window refills only once half
  // of it is acknowledged, so PUBLISHes go out in batches, not one per ack.
  if (c.inflight >= c.window) c.window_full = true;
  if (c.window_full && c.inflight > c.window / 2) return false;
  c.window_full = false;
  uint64_t& slot = c.pid_sent_ns[c.next_pid % c.window];
  if (slot != 0) return false;  // only if acks came back out of order
  slot = now;
  *pid = static_cast<uint16_t>(c.next_pid);
  c.next_pid = c.next_pid == c.pid_cycle ? 1 : c.next_pid + 1;
  ++c.inflight;
  return true;
}

void Worker::Publish(uint64_t now) {
  if (pubs_.empty()) return;
  const size_t n = pubs_.size();
  if (worker_rate_ <= 0) {
    // Open loop: every publisher encodes up to --batch messages per turn.
    // Start one publisher further each turn, so that when the owed bound
    // cuts a turn short it is not always the same publishers that wait.
    more_to_publish_ = false;
    rr_ = rr_ + 1 >= n ? 0 : rr_ + 1;
    for (size_t i = 0; i < n; ++i) {
      Connection& c = *pubs_[(rr_ + i) % n];
      uint32_t k = 0;
      while (k < sc_.batch && PublishOne(c, now)) ++k;
      if (k == sc_.batch) more_to_publish_ = true;  // not blocked: come back at once
    }
    FlushSentCounts();
    return;
  }
  // Fixed rate: a token bucket with at most 10 ms of burst, dealt one message
  // at a time round-robin so every publisher gets its share.
  tokens_ = std::min(tokens_ + static_cast<double>(now - tokens_ns_) * worker_rate_ / 1e9,
                     std::max(1.0, worker_rate_ * 0.01));
  tokens_ns_ = now;
  size_t idle_in_a_row = 0;
  while (tokens_ >= 1 && idle_in_a_row < n) {
    Connection& c = *pubs_[rr_];
    rr_ = rr_ + 1 == n ? 0 : rr_ + 1;
    if (PublishOne(c, now)) {
      tokens_ -= 1;
      idle_in_a_row = 0;
    } else {
      ++idle_in_a_row;
    }
  }
  FlushSentCounts();
}

void Worker::FlushSentCounts() {
  if (owed_sent_pending_ == 0) return;
  shared_.owed_sent.fetch_add(owed_sent_pending_, std::memory_order_relaxed);
  owed_sent_pending_ = 0;
}

void Worker::FlushAccountedCounts() {
  for (uint32_t publisher : accounted_dirty_) {
    shared_.pubs[publisher].accounted.fetch_add(accounted_pending_[publisher],
                                                std::memory_order_relaxed);
    accounted_pending_[publisher] = 0;
  }
  accounted_dirty_.clear();
  if (owed_accounted_pending_ != 0) {
    shared_.owed_accounted.fetch_add(owed_accounted_pending_, std::memory_order_relaxed);
    owed_accounted_pending_ = 0;
  }
}

bool Worker::OwedBoundReached(uint64_t now) {
  const uint64_t sent = shared_.owed_sent.load(std::memory_order_relaxed) + owed_sent_pending_;
  const uint64_t done = shared_.owed_accounted.load(std::memory_order_relaxed) +
                        shared_.owed_forgiven.load(std::memory_order_relaxed);
  const uint64_t owed = sent > done ? sent - done : 0;
  if (owed >= shared_.owed_budget) paused_ = true;
  if (!paused_ || owed <= shared_.owed_budget / 2) {
    paused_ = false;
    blocked_since_ = 0;
    return false;
  }
  if (blocked_since_ == 0) {
    blocked_since_ = now;
  } else if (now - blocked_since_ > kStallNs) {
    shared_.owed_forgiven.fetch_add(owed, std::memory_order_relaxed);
    blocked_since_ = 0;
    ++result_.stalls;
  }
  return true;
}

bool Worker::PublishOne(Connection& c, uint64_t now) {
  if (c.state != ConnState::kReady) return false;
  if (phase_ == Phase::kFill && c.seq >= c.fill_target) return false;
  if (c.out.pending() >= kMaxPendingBytes) return false;
  PublisherShared& ps = shared_.pubs[c.index];
  const uint64_t fanout = shared_.fanout[c.index];
  if (phase_ == Phase::kRun && fanout > 0 && OwedBoundReached(now)) return false;
  uint16_t pid = 0;
  if (sc_.qos > 0 && !TakePacketId(c, now, &pid)) return false;
  uint8_t* payload = c.encoder->Append(c.out, pid);
  WritePayloadHeader({shared_.run_id, c.index, c.seq, now}, payload);
  std::memcpy(payload + kPayloadHeaderSize, padding_.data(), sc_.payload_size - kPayloadHeaderSize);
  ++c.seq;
  ++result_.sent;
  ps.sent.store(c.seq, std::memory_order_relaxed);
  owed_sent_pending_ += fanout;
  MarkDirty(c);
  return true;
}

void Worker::ClearRetained(Connection& c, uint64_t now) {
  // An empty retained PUBLISH deletes the topic's retained message; QoS 1 so
  // the PUBACK tells us the broker has it.
  uint16_t pid = 0;
  if (c.state != ConnState::kReady || !TakePacketId(c, now, &pid)) return;
  EncodePublish(c.out, sc_.mqtt_version, *c.topic, 1, true, pid, 0);
  c.fill_target = c.seq;
  MarkDirty(c);
}

void Worker::OnPacket(Connection& c, const InPacket& p, uint64_t now) {
  if (c.state == ConnState::kClosed) return;
  switch (p.kind) {
    case InKind::kConnack:
      OnConnack(c, p, now);
      break;
    case InKind::kSuback:
      if (c.state != ConnState::kAwaitSuback) break;
      if (p.code >= 0x80) {
        Fail(kExitSetup, absl::StrCat("the broker refused SUBSCRIBE ", shared_.sub_filters[c.index],
                                      " of ", Describe(c), ": ", CodeName(p.code)));
        return;
      }
      c.state = ConnState::kReady;
      Ready(c);
      break;
    case InKind::kPublish:
      OnPublish(c, p, now);
      break;
    case InKind::kPuback:
    case InKind::kPubrec:
    case InKind::kPubcomp:
    case InKind::kPubrel:
      OnAck(c, p, now);
      break;
    case InKind::kPingresp:
      break;
    case InKind::kDisconnect:
      OnClosedByBroker(c, absl::StrCat("the broker sent DISCONNECT (", CodeName(p.code), ")"), now);
      break;
    case InKind::kOther:
      Fail(kExitRuntime, absl::StrCat("unexpected packet from the broker on ", Describe(c)));
      Close(c);
      break;
  }
}

void Worker::OnConnack(Connection& c, const InPacket& p, uint64_t now) {
  if (c.state != ConnState::kAwaitConnack) {
    Fail(kExitRuntime, absl::StrCat("unexpected CONNACK on ", Describe(c)));
    return;
  }
  if (p.code != 0) {
    Fail(kExitSetup,
         absl::StrCat("the broker refused CONNECT of ", Describe(c), ": ", CodeName(p.code)));
    Close(c);
    return;
  }
  ++result_.connects;
  result_.connect_latency.Record(now - c.started_ns);
  if (sc_.mode == Mode::kBacklog && phase_ == Phase::kCatchUp && !p.session_present) {
    Fail(kExitRuntime, absl::StrCat("the broker lost the persistent session of ", Describe(c),
                                    " (CONNACK session present = 0)"));
    return;
  }
  if (c.role == Role::kPublisher) {
    const uint32_t window =
        p.receive_maximum ? std::min<uint32_t>(c.window, p.receive_maximum) : c.window;
    SetWindow(c, window);
  }
  if (c.role == Role::kProbe) {
    if (probes_active_ > 0) --probes_active_;
    if (sc_.mode == Mode::kStorm) {
      ++probes_active_;  // the slot stays busy until the broker closes
      SendDisconnect(c);
      return;
    }
    c.state = ConnState::kReady;
    c.out.Release();  // idle connections keep no buffers
    Ready(c);
    return;
  }
  if (phase_ == Phase::kCleanup) {  // backlog clean-up reconnect
    SendDisconnect(c);
    return;
  }
  if (c.role == Role::kSubscriber && c.subscribe_on_connack) {
    EncodeSubscribe(c.out, sc_.mqtt_version, 1, shared_.sub_filters[c.index], sc_.qos);
    c.state = ConnState::kAwaitSuback;
    MarkDirty(c);
    return;
  }
  c.state = ConnState::kReady;
  Ready(c);
}

void Worker::OnPublish(Connection& c, const InPacket& p, uint64_t now) {
  if (p.retain) ++result_.retained_flagged;
  const auto h = ReadPayloadHeader(p.payload, shared_.run_id);
  if (!h || h->publisher >= c.trackers.size()) {
    // Not ours, except the empty PUBLISHes that clear retained messages.
    if (!p.payload.empty()) ++result_.foreign;
  } else {
    SequenceTracker& t = c.trackers[h->publisher];
    const uint64_t before = t.next_expected();
    t.Record(h->seq);
    if (const uint64_t advanced = t.next_expected() - before; advanced > 0) {
      if (accounted_pending_.size() <= h->publisher) accounted_pending_.resize(h->publisher + 1);
      if (accounted_pending_[h->publisher] == 0) accounted_dirty_.push_back(h->publisher);
      accounted_pending_[h->publisher] += advanced;
      owed_accounted_pending_ += advanced;
    }
    ++result_.delivered;
    if (result_.first_delivery_ns == 0) result_.first_delivery_ns = now;
    result_.last_delivery_ns = now;
    const uint64_t latency = now > h->send_time_ns ? now - h->send_time_ns : 0;
    result_.latency.Record(latency);
    if (shared_.record_interval) interval_.Record(latency);
  }
  if (p.qos == 1) {
    EncodeAck(c.out, AckKind::kPuback, p.packet_id);
    MarkDirty(c);
  } else if (p.qos == 2) {
    EncodeAck(c.out, AckKind::kPubrec, p.packet_id);
    MarkDirty(c);
  }
}

void Worker::OnAck(Connection& c, const InPacket& p, uint64_t now) {
  if (p.kind == InKind::kPubrel) {  // subscriber side of QoS 2
    EncodeAck(c.out, AckKind::kPubcomp, p.packet_id);
    MarkDirty(c);
    return;
  }
  if (p.code >= 0x80) {
    Fail(kExitRuntime,
         absl::StrCat("the broker rejected a PUBLISH of ", Describe(c), ": ", CodeName(p.code)));
    return;
  }
  if (p.kind == InKind::kPubrec) {  // publisher side of QoS 2: release it
    EncodeAck(c.out, AckKind::kPubrel, p.packet_id);
    MarkDirty(c);
    return;
  }
  // PUBACK (QoS 1) or PUBCOMP (QoS 2) completes the PUBLISH.
  if (c.pid_sent_ns.empty() || c.pid_sent_ns[p.packet_id % c.window] == 0) {
    Fail(kExitRuntime,
         absl::StrCat("acknowledgement for unknown packet id ", p.packet_id, " on ", Describe(c)));
    return;
  }
  uint64_t& slot = c.pid_sent_ns[p.packet_id % c.window];
  result_.ack_latency.Record(now > slot ? now - slot : 0);
  slot = 0;
  --c.inflight;
  if (c.acked < c.seq) {  // not the retained clean-up PUBLISH, which has no seq
    ++c.acked;
    ++result_.acked;
  }
  shared_.pubs[c.index].acked.store(c.acked, std::memory_order_relaxed);
  if ((phase_ == Phase::kFill || phase_ == Phase::kCleanup) && c.seq >= c.fill_target &&
      c.inflight == 0) {
    Ready(c);
  }
}

}  // namespace telemq::bench
