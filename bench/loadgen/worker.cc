// Worker: construction, the event loop, phases and housekeeping. Sockets are
// in worker_io.cc, packet handling and the publishing step in
// worker_packets.cc.
#include "bench/loadgen/worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/loadgen/clock.h"
#include "protocol/common/errno_text.h"

namespace telemq::bench {
namespace {

constexpr int kMaxEvents = 512;
constexpr uint64_t kHousekeepingNs = 50'000'000;
constexpr uint64_t kLiveNs = 250'000'000;
constexpr uint64_t kCloseWaitNs = 2'000'000'000;

// This worker's share of `total` items dealt round-robin over `workers`.
uint32_t Share(uint32_t total, uint32_t index, uint32_t workers) {
  return total / workers + (index < total % workers ? 1 : 0);
}

}  // namespace

Worker::Worker(RunShared& shared, uint32_t index, uint32_t workers, const sockaddr_storage& addr,
               socklen_t addr_len)
    : shared_(shared),
      sc_(shared.scenario),
      index_(index),
      workers_(workers),
      addr_(addr),
      addr_len_(addr_len) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  read_buf_ = std::make_unique_for_overwrite<uint8_t[]>(kReadBufferSize);
  padding_.assign(std::max<size_t>(sc_.payload_size, 1), 0);
  const std::string base = absl::StrFormat("%s-%08x-", sc_.client_prefix, shared.run_id);
  const bool pubsub_like =
      sc_.mode == Mode::kPubSub || sc_.mode == Mode::kBacklog || sc_.mode == Mode::kRetained;
  if (pubsub_like) {
    for (uint32_t i = index; i < sc_.publishers; i += workers) {
      auto c = std::make_unique<Connection>(Role::kPublisher, i, sc_.mqtt_version);
      c->client_id = absl::StrCat(base, "p", i);
      c->topic = &shared.pub_topics[i];
      c->window = sc_.ack_window;
      c->encoder = std::make_unique<PublishEncoder>(sc_.mqtt_version, *c->topic, sc_.qos,
                                                    sc_.retain, sc_.payload_size);
      pubs_.push_back(std::move(c));
    }
    for (uint32_t j = index; j < sc_.subscribers; j += workers) {
      auto c = std::make_unique<Connection>(Role::kSubscriber, j, sc_.mqtt_version);
      c->client_id = absl::StrCat(base, "s", j);
      c->trackers.resize(sc_.publishers);
      subs_.push_back(std::move(c));
    }
  } else {
    const uint32_t n = sc_.mode == Mode::kStorm ? Share(sc_.concurrency, index, workers)
                                                : Share(sc_.connections, index, workers);
    for (uint32_t k = 0; k < n; ++k) {
      auto c = std::make_unique<Connection>(Role::kProbe, k, sc_.mqtt_version);
      c->client_id = absl::StrCat(base, "w", index, "-", k);
      probes_.push_back(std::move(c));
    }
  }
  if (sc_.rate > 0) {
    // Publishers (or storm slots) are dealt round-robin, so the rate is too.
    const uint32_t total = sc_.mode == Mode::kStorm ? workers : sc_.publishers;
    const uint32_t mine = sc_.mode == Mode::kStorm ? 1 : static_cast<uint32_t>(pubs_.size());
    worker_rate_ = total ? sc_.rate * mine / total : 0;
  }
}

Worker::~Worker() {
  if (!shared_.private_fd_tables) CloseSockets();  // Run did, unless it failed early
  if (epfd_ >= 0) close(epfd_);                    // this thread's: the constructor made it
}

std::string Worker::Describe(const Connection& c) const {
  const char* role = c.role == Role::kPublisher    ? "publisher"
                     : c.role == Role::kSubscriber ? "subscriber"
                                                   : "connection";
  return absl::StrCat(role, " ", c.index, " (client id ", c.client_id, ")");
}

void Worker::Fail(int code, const std::string& message) { shared_.Fail(code, message); }

void Worker::Run() {
  if (epfd_ < 0) {
    Fail(kExitSetup, absl::StrCat("epoll_create1: ", ErrnoText(errno)));
    return;
  }
  if (shared_.private_fd_tables && unshare(CLONE_FILES) != 0) {
    Fail(kExitSetup, absl::StrCat("unshare(CLONE_FILES): ", ErrnoText(errno)));
    return;
  }
  uint64_t now = NowNs();
  OnPhase(Phase::kSetup, now);
  while (!shared_.abort.load(std::memory_order_acquire)) {
    now = NowNs();
    const Phase p = shared_.phase.load(std::memory_order_acquire);
    if (p != phase_) {
      phase_ = p;
      OnPhase(p, now);
      shared_.phase_seen.fetch_add(1, std::memory_order_acq_rel);
      if (p == Phase::kDone) break;
    }
    const bool publishing = phase_ == Phase::kRun || phase_ == Phase::kFill;
    int timeout_ms = 5;
    if (publishing && !pubs_.empty()) timeout_ms = more_to_publish_ ? 0 : 1;
    if (sc_.mode == Mode::kStorm && phase_ == Phase::kRun && sc_.rate > 0) timeout_ms = 1;
    Turn(now, timeout_ms);
  }
  // Final figures for the progress thread.
  LiveCounters& live = shared_.live[index_];
  live.sent.store(result_.sent, std::memory_order_relaxed);
  live.acked.store(result_.acked, std::memory_order_relaxed);
  live.delivered.store(result_.delivered, std::memory_order_relaxed);
  for (auto& c : subs_) result_.subscribers.emplace_back(c->index, std::move(c->trackers));
  // In this thread: with a private descriptor table (RunShared), the
  // numbers mean nothing to the thread that destroys the Worker.
  CloseSockets();
}

void Worker::CloseSockets() {
  for (auto* list : {&pubs_, &subs_, &probes_}) {
    for (auto& c : *list) {
      if (c->fd >= 0) close(c->fd);
      c->fd = -1;
    }
  }
}

void Worker::Turn(uint64_t now, int timeout_ms) {
  // Open loop: if the previous turn left publishers able to send, do not
  // sleep; the publishing step below runs right after the events.
  epoll_event events[kMaxEvents];
  const int n = epoll_wait(epfd_, events, kMaxEvents, timeout_ms);
  if (n < 0 && errno != EINTR) {
    Fail(kExitRuntime, absl::StrCat("epoll_wait: ", ErrnoText(errno)));
    return;
  }
  now = NowNs();
  if (n == 0 && rcvlowat_set_) {
    // Nothing reached its low-water mark for a whole timeout: take what the
    // subscriber sockets hold anyway, so the tail of a burst is not left
    // waiting (and a publisher waiting on it is not stalled).
    for (auto& c : subs_) {
      if (c->state == ConnState::kReady) OnReadable(*c, now);
    }
  }
  for (int i = 0; i < n; ++i) {
    Connection& c = *static_cast<Connection*>(events[i].data.ptr);
    const uint32_t ev = events[i].events;
    if (c.state == ConnState::kClosed) continue;  // closed earlier in this batch
    if (c.state == ConnState::kTcpConnecting) {
      OnConnected(c, now);
      continue;
    }
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) OnReadable(c, now);
    if (c.state != ConnState::kClosed && (ev & EPOLLOUT)) Flush(c);
  }
  if (phase_ == Phase::kRun || phase_ == Phase::kFill) Publish(now);
  FlushAll();
  if (!probes_.empty()) StartProbes(now);
  if (now - last_housekeeping_ns_ >= kHousekeepingNs) {
    last_housekeeping_ns_ = now;
    Housekeeping(now);
  }
}

void Worker::OnPhase(Phase phase, uint64_t now) {
  phase_start_ns_ = now;
  for (auto* list : {&pubs_, &subs_, &probes_}) {
    for (auto& c : *list) c->counted_ready = false;
  }
  const Mode mode = sc_.mode;
  switch (phase) {
    case Phase::kSetup:
      for (auto& c : subs_) {
        if (mode == Mode::kRetained) continue;  // they join in kCatchUp
        c->clean_start = mode != Mode::kBacklog;
        c->subscribe_on_connack = true;
        StartConnect(*c, now);
      }
      for (auto& c : pubs_) StartConnect(*c, now);
      break;
    case Phase::kRun:
      tokens_ = 0;
      tokens_ns_ = now;
      SetRcvLowat(true);
      break;
    case Phase::kOffline:
      for (auto& c : subs_) SendDisconnect(*c);
      break;
    case Phase::kFill:
      tokens_ = 0;
      tokens_ns_ = now;
      for (auto& c : pubs_) c->fill_target = c->seq + sc_.backlog;
      break;
    case Phase::kCatchUp:
      for (auto& c : subs_) {
        c->clean_start = false;
        c->subscribe_on_connack = mode == Mode::kRetained;
        StartConnect(*c, now);
      }
      break;
    case Phase::kCleanup:
      if (mode == Mode::kBacklog) {
        // Disconnect, then reconnect with a clean session and disconnect
        // again, so the broker drops the persistent sessions we created.
        for (auto& c : subs_) SendDisconnect(*c);
      } else if (mode == Mode::kRetained) {
        for (auto& c : pubs_) ClearRetained(*c, now);
      }
      break;
    case Phase::kDone:
      for (auto* list : {&pubs_, &subs_, &probes_}) {
        for (auto& c : *list) {
          if (c->state == ConnState::kReady || c->state == ConnState::kAwaitSuback) {
            EncodeDisconnect(c->out, sc_.mqtt_version);
            Flush(*c);
          }
          if (c->fd >= 0) Close(*c);
        }
      }
      break;
    case Phase::kDrain:
      SetRcvLowat(false);
      break;
  }
  FlushAll();
}

void Worker::Ready(Connection& c) {
  if (c.counted_ready) return;
  c.counted_ready = true;
  shared_.ready.fetch_add(1, std::memory_order_acq_rel);
}

void Worker::StartProbes(uint64_t now) {
  if (phase_ != Phase::kRun) return;
  if (sc_.mode == Mode::kIdle) {
    const uint32_t limit = std::max<uint32_t>(1, sc_.concurrency / workers_);
    while (probes_active_ < limit && probes_started_ < probes_.size()) {
      StartConnect(*probes_[probes_started_++], now);
      ++probes_active_;
    }
    return;
  }
  // Storm: every free slot starts a new attempt, within the rate budget.
  if (worker_rate_ > 0) {
    tokens_ = std::min(tokens_ + static_cast<double>(now - tokens_ns_) * worker_rate_ / 1e9,
                       std::max(1.0, worker_rate_ * 0.01));
    tokens_ns_ = now;
  }
  for (auto& c : probes_) {
    if (probes_active_ >= probes_.size()) break;
    if (c->state != ConnState::kClosed) continue;
    if (worker_rate_ > 0) {
      if (tokens_ < 1) break;
      tokens_ -= 1;
    }
    c->client_id = absl::StrFormat("%s-%08x-w%u-%u", sc_.client_prefix, shared_.run_id, index_,
                                   probe_serial_++);
    StartConnect(*c, now);
    if (c->fd < 0) return;
    ++probes_active_;
  }
}

void Worker::Housekeeping(uint64_t now) {
  const uint64_t connect_timeout = static_cast<uint64_t>(sc_.connect_timeout * 1e9);
  const uint64_t keepalive_half = static_cast<uint64_t>(sc_.keepalive) * 500'000'000u;
  for (auto* list : {&pubs_, &subs_, &probes_}) {
    for (auto& cp : *list) {
      Connection& c = *cp;
      switch (c.state) {
        case ConnState::kTcpConnecting:
        case ConnState::kAwaitConnack:
        case ConnState::kAwaitSuback:
          if (now - c.started_ns > connect_timeout) {
            const bool tcp = c.state == ConnState::kTcpConnecting;
            const bool suback = c.state == ConnState::kAwaitSuback;
            Close(c);
            ++result_.connect_failures;
            if (c.role == Role::kProbe && sc_.mode == Mode::kStorm) {
              if (probes_active_ > 0) --probes_active_;
              break;
            }
            Fail(kExitSetup, absl::StrFormat("%s: no %s within %.1f s", Describe(c),
                                             tcp      ? "TCP connection"
                                             : suback ? "SUBACK"
                                                      : "CONNACK",
                                             sc_.connect_timeout));
          }
          break;
        case ConnState::kAwaitClose:
          if (now - c.started_ns > kCloseWaitNs)
            OnClosedByBroker(c, "the broker did not close the connection", now);
          break;
        case ConnState::kReady:
          if (keepalive_half > 0 && now - c.last_write_ns > keepalive_half) {
            EncodePingreq(c.out, sc_.mqtt_version);
            MarkDirty(c);
          }
          break;
        case ConnState::kClosed:
          break;
      }
    }
  }
  FlushAll();
  if (now - last_live_ns_ >= kLiveNs) {
    last_live_ns_ = now;
    LiveCounters& live = shared_.live[index_];
    live.sent.store(result_.sent, std::memory_order_relaxed);
    live.acked.store(result_.acked, std::memory_order_relaxed);
    live.delivered.store(result_.delivered, std::memory_order_relaxed);
    live.connects.store(result_.connects, std::memory_order_relaxed);
    live.errors.store(result_.connect_failures + result_.stalls, std::memory_order_relaxed);
    if (interval_.count() > 0) {
      std::lock_guard<std::mutex> lock(live.mu);
      live.interval.Merge(interval_);
      interval_.Reset();
    }
  }
}

}  // namespace telemq::bench
