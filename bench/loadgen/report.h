// telemq-bench: the figures of one run, and their two renderings (a table
// for people, JSON for bench/compare and for keeping).
//
// Definitions (also in docs/benchmarks.md):
//   window        the publishing phase: from the first PUBLISH to the stop
//                 (pub-sub), the connect loop (storm), the catch-up (backlog,
//                 retained)
//   sent/s        PUBLISHes written / window
//   delivered/s   valid PUBLISHes received by subscribers / window
//   lost          per (subscriber, matching publisher): published - distinct
//                 sequence numbers received, summed
//   latency       publisher's send timestamp (in the payload) to the
//                 subscriber's read of it; same host, CLOCK_MONOTONIC
//   client ns/msg this process's CPU (user + system) over the window and
//                 drain / max(sent, delivered)
//   broker ns/msg the same for --broker-pid
#pragma once

#include <cstdint>
#include <string>

#include "bench/loadgen/histogram.h"
#include "bench/loadgen/scenario.h"

namespace telemq::bench {

struct Summary {
  Scenario scenario;
  uint32_t run_id = 0;
  double window_s = 0;
  uint64_t sent = 0, acked = 0, delivered = 0, expected = 0, distinct = 0, lost = 0, duplicates = 0,
           reordered = 0, foreign = 0, retained_flagged = 0, stalls = 0, connects = 0,
           connect_failures = 0, writes = 0, reads = 0, bytes_out = 0, bytes_in = 0;
  Histogram latency, ack_latency, connect_latency;
  double client_cpu_s = 0;
  bool broker_sampled = false;
  double broker_cpu_s = 0;
  uint64_t broker_rss_start = 0, broker_rss_end = 0;
  uint32_t held_connections = 0;  // idle
  int exit_code = 0;
  std::string error;

  double PerSecond(uint64_t n) const { return window_s > 0 ? n / window_s : 0; }
  // What "per message" divides by: max(sent, delivered), or the connects of
  // storm and idle runs.
  uint64_t Messages() const {
    const uint64_t m = sent > delivered ? sent : delivered;
    return m ? m : connects;
  }
  double ClientNsPerMessage() const;
  double BrokerNsPerMessage() const;
};

std::string FormatTable(const Summary& s);
std::string FormatJson(const Summary& s);

}  // namespace telemq::bench
