// telemq-bench: state shared by the event-loop threads of one run.
//
// Everything here is either immutable after setup (scenario, topics, fan-out)
// or an atomic written by one thread and read by others.
//
// The open-loop bound: publishers add `fanout` to owed_sent for every message
// (the deliveries it should cause); subscribers add to owed_accounted how far
// each of their per-publisher sequences advanced (a received message, or a
// gap skipped over: a lost message must not block publishing forever). While
//     owed = owed_sent - owed_accounted - owed_forgiven >= owed_budget
// every publisher pauses, and they resume together once owed <= budget / 2:
// the hysteresis makes each resume a batch of many messages per write (one
// send per message would cost the client ~5 us on this VM). The budget is
// --max-owed times the number of subscribers, at most 4 * --max-owed, so no
// socket fills with megabytes of queued messages, open-loop latency stays a
// measure of the broker (Little's law: budget / throughput), and a run
// leaves nothing queued for the next one. A bound that does not move for a
// second (the broker dropped messages without a gap to show it) is written
// off into owed_forgiven and counted as a stall.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench/loadgen/histogram.h"
#include "bench/loadgen/scenario.h"

namespace telemq::bench {

// Phases of a run, advanced by the main thread; every worker reacts to them.
enum class Phase : int {
  kSetup,    // connect (and subscribe); each ready connection bumps `ready`
  kRun,      // publishing (pub-sub, storm, idle hold)
  kDrain,    // publishers stopped; waiting for deliveries / acks
  kOffline,  // backlog: subscribers disconnect, keeping their sessions
  kFill,     // backlog / retained: publishers send `backlog` messages each
  kCatchUp,  // backlog: subscribers reconnect; retained: subscribers join
  kCleanup,  // backlog / retained: remove sessions / retained messages
  kDone,     // disconnect everything and exit
};

inline const char* PhaseName(Phase p) {
  static constexpr const char* kNames[] = {"setup", "run",      "drain",   "offline",
                                           "fill",  "catch-up", "cleanup", "done"};
  return kNames[static_cast<int>(p)];
}

enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 1,
  kExitSetup = 2,      // cannot connect, CONNECT refused, SUBSCRIBE refused
  kExitRuntime = 3,    // connection dropped mid-run, protocol error
  kExitTimeLimit = 4,  // the hard time limit passed
};

struct alignas(64) PublisherShared {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> accounted{0};
  std::atomic<uint64_t> acked{0};
};

// Per worker, refreshed once per loop turn for the progress line.
struct alignas(64) LiveCounters {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> acked{0};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> connects{0};
  std::atomic<uint64_t> errors{0};
  std::mutex mu;
  Histogram interval;  // latency since the last progress line, guarded by mu
};

struct RunShared {
  RunShared(const Scenario& s, uint32_t run) : scenario(s), run_id(run) {}

  const Scenario& scenario;
  const uint32_t run_id;
  std::vector<std::string> pub_topics;   // per publisher
  std::vector<std::string> sub_filters;  // per subscriber
  std::vector<uint32_t> fanout;          // per publisher: matching subscribers
  uint64_t owed_budget = 0;              // deliveries (see above)
  int sub_rcvlowat = 0;                  // SO_RCVLOWAT for subscribers; 0 = none
  // More sockets than the open-file limit allows one process: each worker
  // thread takes a descriptor table of its own (unshare(CLONE_FILES)), the
  // limit then applying to each. Its sockets must then be closed by that
  // thread (Worker::Run).
  bool private_fd_tables = false;
  // More connections than one source address has ephemeral ports (IPv4
  // loopback target): each worker connects from its own 127.0.0.x.
  bool spread_sources = false;
  alignas(64) std::atomic<uint64_t> owed_sent{0};
  alignas(64) std::atomic<uint64_t> owed_accounted{0};
  std::atomic<uint64_t> owed_forgiven{0};
  std::unique_ptr<PublisherShared[]> pubs;
  std::unique_ptr<LiveCounters[]> live;  // per worker
  bool record_interval = false;          // feed LiveCounters::interval (progress line)

  std::atomic<Phase> phase{Phase::kSetup};
  std::atomic<uint64_t> phase_start_ns{0};
  std::atomic<uint32_t> ready{0};  // connections that finished the phase's step
  // Workers that have switched to the current phase. Until all have, one may
  // still publish under the previous phase, so "everything delivered" cannot
  // be judged yet.
  std::atomic<uint32_t> phase_seen{0};
  std::atomic<bool> abort{false};

  // First fatal error wins.
  void Fail(int code, std::string message) {
    std::lock_guard<std::mutex> lock(mu_);
    if (exit_code_ == 0) {
      exit_code_ = code;
      error_ = std::move(message);
    }
    abort.store(true, std::memory_order_release);
  }
  int exit_code() {
    std::lock_guard<std::mutex> lock(mu_);
    return exit_code_;
  }
  std::string error() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

 private:
  std::mutex mu_;
  int exit_code_ = 0;
  std::string error_;
};

}  // namespace telemq::bench
