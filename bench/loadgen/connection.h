// telemq-bench: one MQTT client connection of the load generator.
//
// Plain data owned by one Worker (one thread); the worker's event loop does
// all I/O and protocol handling. Publisher and subscriber fields live side by
// side: a connection has one role for its whole life.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/loadgen/mqtt_wire.h"
#include "bench/loadgen/out_buffer.h"
#include "bench/loadgen/sequence_tracker.h"

namespace telemq::bench {

enum class Role : uint8_t {
  kPublisher,
  kSubscriber,
  kProbe,  // storm and idle connections: CONNECT and nothing else
};

enum class ConnState : uint8_t {
  kClosed,
  kTcpConnecting,  // non-blocking connect() in progress
  kAwaitConnack,
  kAwaitSuback,
  kReady,
  kAwaitClose,  // DISCONNECT sent; waiting for the broker to close
};

struct Connection {
  Connection(Role r, uint32_t i, int version) : role(r), index(i), reader(version) {}

  Role role;
  uint32_t index;  // publisher, subscriber or probe index within the run
  ConnState state = ConnState::kClosed;
  int fd = -1;
  bool want_out = false;    // EPOLLOUT registered
  bool dirty = false;       // queued on the worker's flush list
  bool clean_start = true;  // for the next CONNECT
  bool subscribe_on_connack = true;
  bool counted_ready = false;  // has bumped RunShared::ready in this phase
  uint64_t started_ns = 0;     // connect() time
  uint64_t last_write_ns = 0;
  std::string client_id;
  OutBuffer out;
  FrameReader reader;

  // Publisher.
  uint64_t seq = 0;          // next sequence number == messages sent
  uint64_t acked = 0;        // PUBACK / PUBCOMP received
  bool window_full = false;  // ack window reached; resume at half
  uint64_t fill_target = 0;  // backlog/retained: publish until seq reaches it
  uint32_t inflight = 0;
  uint32_t window = 0;
  uint32_t next_pid = 1;
  uint32_t pid_cycle = 0;             // packet ids run 1..pid_cycle (a multiple of window)
  std::vector<uint64_t> pid_sent_ns;  // by pid % window; 0 = free
  const std::string* topic = nullptr;
  std::unique_ptr<PublishEncoder> encoder;  // built once per publisher

  // Subscriber: one tracker per publisher index (only matching ones used).
  std::vector<SequenceTracker> trackers;
};

}  // namespace telemq::bench
