#include "bench/loadgen/runner.h"

#include <netdb.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/loadgen/clock.h"
#include "bench/loadgen/proc_stats.h"
#include "bench/loadgen/run_state.h"
#include "bench/loadgen/topic_match.h"
#include "bench/loadgen/worker.h"

namespace telemq::bench {
namespace {

// Descriptors a run needs besides its sockets (epoll sets, /proc reads).
constexpr uint64_t kSpareDescriptors = 64;
// Connections to one address and port from one source address: Linux's
// default ephemeral range, 32768-60999, less a margin.
constexpr uint64_t kPortsPerSource = 28000;

bool IsLoopback(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (a.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
    return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
  }
  return false;
}

class Runner {
 public:
  Runner(const Scenario& sc, const std::atomic<bool>& interrupted)
      : sc_(sc), interrupted_(interrupted), shared_(sc, std::random_device{}()) {}

  Summary Run();

 private:
  // Polls `done` every few ms (and draws the progress line) until it holds,
  // `seconds` pass, the run aborts, or the hard limit passes. True iff done.
  template <typename Pred>
  bool WaitFor(Pred done, double seconds, bool stop_on_interrupt = true);
  void SetPhase(Phase p);
  void Progress(uint64_t now, bool final_line);
  uint64_t Owed() const;
  bool Drained() const;

  const Scenario& sc_;
  const std::atomic<bool>& interrupted_;
  RunShared shared_;
  Summary summary_;
  uint64_t start_ns_ = 0;
  uint64_t deadline_ns_ = 0;
  uint64_t phase_end_ns_ = 0;
  uint64_t window_start_ns_ = 0;
  uint64_t last_progress_ns_ = 0;
  uint64_t last_sent_ = 0, last_delivered_ = 0;
  Histogram interval_;
  bool progress_ = false;
};

void Runner::SetPhase(Phase p) {
  shared_.ready.store(0, std::memory_order_relaxed);
  shared_.phase_seen.store(0, std::memory_order_relaxed);
  shared_.phase_start_ns.store(NowNs(), std::memory_order_relaxed);
  shared_.phase.store(p, std::memory_order_release);
}

uint64_t Runner::Owed() const {
  uint64_t owed = 0;
  for (uint32_t i = 0; i < sc_.publishers; ++i) {
    const uint64_t want = shared_.pubs[i].sent.load(std::memory_order_relaxed) * shared_.fanout[i];
    const uint64_t got = shared_.pubs[i].accounted.load(std::memory_order_relaxed);
    owed += want > got ? want - got : 0;
  }
  return owed;
}

bool Runner::Drained() const {
  if (shared_.phase_seen.load(std::memory_order_acquire) < sc_.threads) return false;
  for (uint32_t i = 0; i < sc_.publishers; ++i) {
    const auto& p = shared_.pubs[i];
    const uint64_t sent = p.sent.load(std::memory_order_relaxed);
    if (p.accounted.load(std::memory_order_relaxed) < sent * shared_.fanout[i]) return false;
    if (sc_.qos > 0 && p.acked.load(std::memory_order_relaxed) < sent) return false;
  }
  return true;
}

void Runner::Progress(uint64_t now, bool final_line) {
  if (!progress_) return;
  if (now - last_progress_ns_ < 1'000'000'000) {
    // Too soon for meaningful rates: a final call just ends the line.
    if (final_line && last_progress_ns_ != 0) fputs("\n", stderr);
    return;
  }
  const double dt = last_progress_ns_ ? (now - last_progress_ns_) / 1e9 : 1.0;
  last_progress_ns_ = now;
  uint64_t sent = 0, delivered = 0, connects = 0, errors = 0;
  interval_.Reset();
  for (uint32_t w = 0; w < sc_.threads; ++w) {
    LiveCounters& l = shared_.live[w];
    sent += l.sent.load(std::memory_order_relaxed);
    delivered += l.delivered.load(std::memory_order_relaxed);
    connects += l.connects.load(std::memory_order_relaxed);
    errors += l.errors.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(l.mu);
    interval_.Merge(l.interval);
    l.interval.Reset();
  }
  // Time left in the current phase (at most: it may end early), and before
  // the hard limit.
  const double left = std::max(0.0, (static_cast<double>(phase_end_ns_) - now) / 1e9);
  const double limit = std::max(0.0, (static_cast<double>(deadline_ns_) - now) / 1e9);
  const Phase phase = shared_.phase.load(std::memory_order_relaxed);
  std::string line = absl::StrFormat(
      "\r\033[K[%s %5.1fs, %.1fs left, limit %.0fs] sent %.0f/s  delivered %.0f/s  p50 %.0fus  p99 "
      "%.0fus"
      "  owed %u  connects %u  errors %u",
      PhaseName(phase), (now - start_ns_) / 1e9, left, limit, (sent - last_sent_) / dt,
      (delivered - last_delivered_) / dt, interval_.Percentile(50) / 1e3,
      interval_.Percentile(99) / 1e3, Owed(), connects, errors);
  last_sent_ = sent;
  last_delivered_ = delivered;
  if (final_line) line += "\n";
  fputs(line.c_str(), stderr);
}

template <typename Pred>
bool Runner::WaitFor(Pred done, double seconds, bool stop_on_interrupt) {
  const uint64_t until = NowNs() + static_cast<uint64_t>(seconds * 1e9);
  phase_end_ns_ = std::min(until, deadline_ns_);
  while (true) {
    if (done()) return true;
    if (shared_.abort.load(std::memory_order_acquire)) return false;
    if (stop_on_interrupt && interrupted_.load(std::memory_order_relaxed)) return false;
    const uint64_t now = NowNs();
    if (now >= deadline_ns_) {
      shared_.Fail(kExitTimeLimit,
                   absl::StrFormat("hard time limit of %.1f s reached in phase %s", sc_.time_limit,
                                   PhaseName(shared_.phase.load())));
      return false;
    }
    if (now >= until) return false;
    Progress(now, false);
    // The main thread only watches; 10 ms keeps phase changes prompt without
    // costing measurable CPU.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Summary Runner::Run() {
  summary_.scenario = sc_;
  summary_.run_id = shared_.run_id;
  progress_ = sc_.progress == 1 || (sc_.progress == -1 && isatty(STDERR_FILENO));
  shared_.record_interval = progress_;

  // Resolve and check the target before anything else.
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = absl::StrCat(sc_.port);
  if (int rc = getaddrinfo(sc_.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    summary_.exit_code = kExitUsage;
    summary_.error = absl::StrCat("cannot resolve ", sc_.host, ": ", gai_strerror(rc));
    return summary_;
  }
  sockaddr_storage addr{};
  std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
  const socklen_t addr_len = res->ai_addrlen;
  freeaddrinfo(res);
  if (!IsLoopback(addr) && !sc_.allow_remote) {
    summary_.exit_code = kExitUsage;
    summary_.error = absl::StrCat("refusing non-loopback target ", sc_.host,
                                  " (pass --allow-remote to load a remote broker)");
    return summary_;
  }

  // Topics, filters and the expected fan-out of every publisher.
  for (uint32_t i = 0; i < sc_.publishers; ++i) {
    shared_.pub_topics.push_back(ExpandTopic(sc_.pub_topic, i, sc_.groups));
  }
  for (uint32_t j = 0; j < sc_.subscribers; ++j) {
    shared_.sub_filters.push_back(ExpandTopic(sc_.sub_filter, j, sc_.groups));
  }
  shared_.fanout.assign(sc_.publishers, 0);
  for (uint32_t i = 0; i < sc_.publishers; ++i) {
    for (uint32_t j = 0; j < sc_.subscribers; ++j) {
      shared_.fanout[i] += TopicMatches(shared_.sub_filters[j], shared_.pub_topics[i]);
    }
  }
  // Open-loop bound (run_state.h).
  shared_.owed_budget = uint64_t{sc_.max_owed} * std::clamp<uint64_t>(sc_.subscribers, 1, 4);
  // Open loop: a subscriber socket wakes us only once a good batch has
  // arrived (SO_RCVLOWAT): a quarter of its share of the budget, at most
  // 16 KiB. Idle turns read everything anyway, so nothing is left behind.
  // Not at QoS 1/2: a broker sends at most its in-flight window (20 for
  // Mosquitto, 32 for telemq) before our PUBACKs, which may be less than
  // the threshold, and the subscriber would then ack only on idle turns.
  if (sc_.rate == 0 && sc_.mode == Mode::kPubSub && sc_.subscribers > 0 && sc_.qos == 0) {
    const uint64_t share = shared_.owed_budget / sc_.subscribers;
    const uint64_t bytes = share * (sc_.payload_size + 16) / 4;
    shared_.sub_rcvlowat = static_cast<int>(std::min<uint64_t>(16384, bytes));
  }
  rlimit files{};
  const uint64_t sockets = uint64_t{sc_.publishers} + sc_.subscribers + sc_.connections;
  shared_.private_fd_tables =
      getrlimit(RLIMIT_NOFILE, &files) == 0 && sockets + kSpareDescriptors > files.rlim_cur;
  shared_.spread_sources =
      addr.ss_family == AF_INET && IsLoopback(addr) && sockets > kPortsPerSource;
  shared_.pubs = std::make_unique<PublisherShared[]>(sc_.publishers);
  shared_.live = std::make_unique<LiveCounters[]>(sc_.threads);

  start_ns_ = NowNs();
  deadline_ns_ = start_ns_ + static_cast<uint64_t>(sc_.time_limit * 1e9);
  ProcSample broker0, broker1;
  auto sample_broker = [&](ProcSample* s) {
    if (sc_.broker_pid <= 0) return;
    auto r = SampleProcess(sc_.broker_pid);
    if (r.ok()) {
      *s = *r;
      summary_.broker_sampled = true;
    } else {
      shared_.Fail(kExitRuntime,
                   absl::StrCat("broker pid ", sc_.broker_pid, ": ", r.status().message()));
    }
  };
  if (sc_.broker_pid > 0) {
    sample_broker(&broker0);
    summary_.broker_rss_start = broker0.rss_bytes;
  }

  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  for (uint32_t w = 0; w < sc_.threads; ++w) {
    workers.push_back(std::make_unique<Worker>(shared_, w, sc_.threads, addr, addr_len));
  }
  threads.reserve(workers.size());
  for (auto& w : workers) threads.emplace_back([&w] { w->Run(); });

  const uint32_t P = sc_.publishers, S = sc_.subscribers;
  auto ready_is = [&](uint32_t n) { return [this, n] { return shared_.ready.load() >= n; }; };
  ProcSample self0, self1;
  uint64_t window_end = 0;
  auto open_window = [&] {
    self0 = SampleSelf();
    sample_broker(&broker0);
    window_start_ns_ = NowNs();
  };
  auto close_window = [&] { window_end = NowNs(); };
  auto fail_setup = [&](const char* what) {
    if (!shared_.abort.load()) {
      shared_.Fail(kExitSetup, absl::StrFormat("%s did not complete within %.1f s", what,
                                               sc_.connect_timeout * 2));
    }
  };
  const double setup_s = sc_.connect_timeout * 2;
  // Backlog and retained runs: the publishers fill, then the measured window
  // is the subscribers catching up; `cleanup_ready` connections report back
  // from the cleanup phase.
  auto fill_then_catch_up = [&](const char* fill_what, uint32_t cleanup_ready) {
    SetPhase(Phase::kFill);
    if (!WaitFor(ready_is(P), sc_.duration)) {
      fail_setup(fill_what);
      return;
    }
    open_window();
    SetPhase(Phase::kCatchUp);
    WaitFor([this] { return Drained(); }, sc_.duration);
    close_window();
    SetPhase(Phase::kCleanup);
    WaitFor(ready_is(cleanup_ready), setup_s, false);
  };

  switch (sc_.mode) {
    case Mode::kPubSub:
      if (!WaitFor(ready_is(P + S), setup_s)) {
        fail_setup("connecting and subscribing");
        break;
      }
      open_window();
      SetPhase(Phase::kRun);
      WaitFor([] { return false; }, sc_.duration);
      close_window();
      SetPhase(Phase::kDrain);
      WaitFor([this] { return Drained(); }, sc_.drain, false);
      break;
    case Mode::kStorm:
      open_window();
      SetPhase(Phase::kRun);
      WaitFor([] { return false; }, sc_.duration);
      close_window();
      break;
    case Mode::kIdle:
      open_window();
      SetPhase(Phase::kRun);
      // The window is the connect phase; the hold comes after it, and the
      // broker's RSS is read at the end of the hold.
      if (!WaitFor(ready_is(sc_.connections), sc_.time_limit)) break;
      close_window();
      summary_.held_connections = shared_.ready.load();
      WaitFor([] { return false; }, sc_.duration);
      break;
    case Mode::kBacklog:
      if (!WaitFor(ready_is(P + S), setup_s)) {
        fail_setup("connecting and subscribing");
        break;
      }
      SetPhase(Phase::kOffline);
      if (!WaitFor(ready_is(S), setup_s)) {
        fail_setup("taking subscribers offline");
        break;
      }
      fill_then_catch_up("publishing the backlog", S);
      break;
    case Mode::kRetained:
      if (!WaitFor(ready_is(P), setup_s)) {
        fail_setup("connecting publishers");
        break;
      }
      fill_then_catch_up("publishing retained messages", P);
      break;
  }
  if (window_end == 0) window_end = NowNs();
  self1 = SampleSelf();
  if (summary_.broker_sampled && shared_.exit_code() == 0) sample_broker(&broker1);
  Progress(NowNs(), true);
  SetPhase(Phase::kDone);
  for (auto& t : threads) t.join();

  // Merge.
  Summary& s = summary_;
  s.window_s = window_start_ns_ ? (window_end - window_start_ns_) / 1e9 : 0;
  s.client_cpu_s = (self1.cpu_ns - self0.cpu_ns) / 1e9;
  if (s.broker_sampled) {
    s.broker_cpu_s = (broker1.cpu_ns - broker0.cpu_ns) / 1e9;
    s.broker_rss_end = broker1.rss_bytes;
  }
  std::vector<uint64_t> published(P);
  for (uint32_t i = 0; i < P; ++i) {
    published[i] = shared_.pubs[i].sent.load();
    s.expected += published[i] * shared_.fanout[i];
  }
  for (auto& w : workers) {
    WorkerResult& r = w->result();
    s.sent += r.sent;
    s.acked += r.acked;
    s.delivered += r.delivered;
    s.foreign += r.foreign;
    s.retained_flagged += r.retained_flagged;
    s.stalls += r.stalls;
    s.connects += r.connects;
    s.connect_failures += r.connect_failures;
    s.writes += r.writes;
    s.reads += r.reads;
    s.bytes_out += r.bytes_out;
    s.bytes_in += r.bytes_in;
    s.latency.Merge(r.latency);
    s.ack_latency.Merge(r.ack_latency);
    s.connect_latency.Merge(r.connect_latency);
    for (const auto& [sub, trackers] : r.subscribers) {
      for (uint32_t i = 0; i < P; ++i) {
        if (!TopicMatches(shared_.sub_filters[sub], shared_.pub_topics[i])) continue;
        const SequenceTracker& t = trackers[i];
        s.distinct += t.distinct();
        s.duplicates += t.duplicates();
        s.reordered += t.reordered();
        if (sc_.mode == Mode::kRetained) {
          // Only the last message per topic is retained: one per pair.
          s.lost += t.distinct() == 0 ? 1 : 0;
        } else {
          s.lost += t.Lost(published[i]);
        }
      }
    }
  }
  if (sc_.mode == Mode::kRetained) {
    s.expected = 0;
    for (uint32_t i = 0; i < P; ++i) s.expected += shared_.fanout[i];
  }
  s.exit_code = shared_.exit_code();
  s.error = shared_.error();
  if (s.exit_code == 0 && interrupted_.load()) {
    s.exit_code = kExitRuntime;
    s.error = "interrupted";
  }
  return s;
}

}  // namespace

Summary RunScenario(const Scenario& scenario, const std::atomic<bool>& interrupted) {
  return Runner(scenario, interrupted).Run();
}

}  // namespace telemq::bench
