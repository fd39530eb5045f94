// telemq-bench: one event-loop thread and the connections it owns.
//
// A Worker owns a share of the run's connections (index % workers == its
// own) and drives them with one epoll set, non-blocking sockets and level-
// triggered readiness. Per loop turn it reads what arrived on every ready
// socket (one large read each, decoded in place), lets every publisher encode
// a batch of PUBLISHes into its OutBuffer, then writes each dirty connection
// once: syscalls are per batch, never per message.
//
// It follows RunShared::phase (set by the main thread) and reports back via
// RunShared::ready, the per-publisher atomics and its LiveCounters. A fatal
// condition (refused connect, CONNACK refused, connection dropped mid-run,
// malformed packet) calls RunShared::Fail, which stops every worker.
//
// Run() returns after Phase::kDone or an abort; result() is then stable.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/loadgen/connection.h"
#include "bench/loadgen/histogram.h"
#include "bench/loadgen/run_state.h"

namespace telemq::bench {

struct WorkerResult {
  uint64_t sent = 0;
  uint64_t acked = 0;
  uint64_t delivered = 0;  // valid payloads of this run, duplicates included
  uint64_t foreign = 0;    // PUBLISHes without this run's payload header
  uint64_t retained_flagged = 0;
  uint64_t connects = 0;  // CONNACKs accepted
  uint64_t connect_failures = 0;
  uint64_t stalls = 0;  // owed-bound write-offs
  uint64_t writes = 0;  // write() calls
  uint64_t reads = 0;   // read() calls that returned data
  uint64_t bytes_out = 0;
  uint64_t bytes_in = 0;
  uint64_t first_delivery_ns = 0;
  uint64_t last_delivery_ns = 0;
  Histogram latency;          // end to end, ns
  Histogram ack_latency;      // PUBLISH -> PUBACK / PUBCOMP, ns
  Histogram connect_latency;  // connect() -> CONNACK, ns
  // (subscriber index, its per-publisher trackers), for the loss accounting.
  std::vector<std::pair<uint32_t, std::vector<SequenceTracker>>> subscribers;
};

class Worker {
 public:
  // One read() takes up to this much; a loaded subscriber socket is drained
  // in one or two calls.
  static constexpr size_t kReadBufferSize = size_t{256} * 1024;

  Worker(RunShared& shared, uint32_t index, uint32_t workers, const sockaddr_storage& addr,
         socklen_t addr_len);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Run();
  WorkerResult& result() { return result_; }

 private:
  void OnPhase(Phase phase, uint64_t now);
  void CloseSockets();
  void Turn(uint64_t now, int timeout_ms);
  void Publish(uint64_t now);
  bool PublishOne(Connection& c, uint64_t now);
  // The open-loop bound (run_state.h): true while publishers must wait.
  bool OwedBoundReached(uint64_t now);
  // Publishes the counts this thread batched (below) to the shared atomics:
  // one atomic add per turn or read instead of three per message.
  void FlushSentCounts();
  void FlushAccountedCounts();
  void ClearRetained(Connection& c, uint64_t now);
  bool TakePacketId(Connection& c, uint64_t now, uint16_t* pid);
  void SetWindow(Connection& c, uint32_t window);
  void Housekeeping(uint64_t now);
  void StartProbes(uint64_t now);
  // Open loop: raise / restore SO_RCVLOWAT on the subscriber sockets.
  void SetRcvLowat(bool on);

  // Connection lifecycle.
  void StartConnect(Connection& c, uint64_t now);
  void OnConnected(Connection& c, uint64_t now);
  void OnReadable(Connection& c, uint64_t now);
  void OnPacket(Connection& c, const InPacket& p, uint64_t now);
  void OnConnack(Connection& c, const InPacket& p, uint64_t now);
  void OnPublish(Connection& c, const InPacket& p, uint64_t now);
  void OnAck(Connection& c, const InPacket& p, uint64_t now);
  void OnClosedByBroker(Connection& c, const std::string& why, uint64_t now);
  void SendDisconnect(Connection& c);
  void Close(Connection& c);
  void MarkDirty(Connection& c);
  void Flush(Connection& c);
  void FlushAll();
  void SetWantOut(Connection& c, bool want);
  void Ready(Connection& c);
  void Fail(int code, const std::string& message);
  std::string Describe(const Connection& c) const;

  RunShared& shared_;
  const Scenario& sc_;
  const uint32_t index_;
  const uint32_t workers_;
  sockaddr_storage addr_;
  socklen_t addr_len_;
  int epfd_ = -1;
  Phase phase_ = Phase::kSetup;
  uint64_t phase_start_ns_ = 0;

  std::vector<std::unique_ptr<Connection>> pubs_;
  std::vector<std::unique_ptr<Connection>> subs_;
  std::vector<std::unique_ptr<Connection>> probes_;
  std::vector<Connection*> dirty_;
  std::unique_ptr<uint8_t[]> read_buf_;
  std::vector<uint8_t> padding_;

  // Rate control: a token bucket for this worker's share of --rate.
  double worker_rate_ = 0;
  double tokens_ = 0;
  uint64_t tokens_ns_ = 0;
  size_t rr_ = 0;  // round-robin start among publishers

  // Storm / idle.
  uint32_t probes_started_ = 0;  // idle: connections opened so far
  uint32_t probes_active_ = 0;   // attempts in flight
  uint64_t probe_serial_ = 0;

  bool rcvlowat_set_ = false;
  bool more_to_publish_ = false;
  bool paused_ = false;         // owed bound reached; resume at half
  uint64_t blocked_since_ = 0;  // when the bound last stopped a publisher
  // Not yet added to shared_.owed_sent / owed_accounted / pubs[i].accounted.
  uint64_t owed_sent_pending_ = 0;
  uint64_t owed_accounted_pending_ = 0;
  std::vector<uint64_t> accounted_pending_;  // by publisher index
  std::vector<uint32_t> accounted_dirty_;    // publishers with a non-zero entry
  uint64_t last_housekeeping_ns_ = 0;
  uint64_t last_live_ns_ = 0;
  Histogram interval_;  // latency since the last LiveCounters merge
  WorkerResult result_;
};

}  // namespace telemq::bench
