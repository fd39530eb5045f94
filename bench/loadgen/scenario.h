// telemq-bench: what to run, as a plain struct, parsed from command-line
// flags over a named preset.
//
//   StatusOr<Scenario> s = ParseScenario({"--preset=fan-in", "--qos=1"});
//
// A preset only fills defaults: flags given explicitly always win, whatever
// their order relative to --preset. Topic patterns may hold {id} (publisher
// or subscriber index) and {group} (index % --groups).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace telemq::bench {

enum class Mode {
  kPubSub,    // publishers -> broker -> subscribers, the throughput/latency test
  kStorm,     // connect, CONNACK, DISCONNECT, close, repeat: connections per second
  kIdle,      // open N connections and hold them: broker memory per connection
  kBacklog,   // persistent sessions: subscribers go offline, publishers fill their
              // queues, subscribers come back and drain the backlog
  kRetained,  // publishers leave one retained message per topic; subscribers
              // joining later must receive every one of them
};

struct Scenario {
  std::string preset = "1to1";
  Mode mode = Mode::kPubSub;
  // Target.
  std::string host = "127.0.0.1";
  uint16_t port = 1883;
  bool allow_remote = false;  // refuse non-loopback targets unless set
  int mqtt_version = 4;       // 4 = 3.1.1, 5 = 5.0
  // Shape.
  uint32_t publishers = 1;
  uint32_t subscribers = 1;
  uint32_t groups = 1;
  std::string pub_topic = "bench/{id}";
  std::string sub_filter = "bench/#";
  int qos = 0;  // publish QoS and subscription QoS
  uint32_t payload_size = 64;
  bool retain = false;
  // Load.
  double rate = 0;              // total messages/s over all publishers (pub-sub) or
                                // connections/s (storm); 0 = open loop
  uint32_t max_owed = 0;        // open-loop bound: deliveries owed per subscriber
                                // (budget = max_owed * min(subscribers, 4), see
                                // run_state.h); 0 = 2000 at QoS 0, 500 at QoS 1/2
  uint32_t ack_window = 0;      // per publisher: unacknowledged QoS 1/2 PUBLISHes;
                                // 0 = 256 at QoS 1, 16 at QoS 2 (Mosquitto loses
                                // QoS 2 messages beyond its 20 in flight)
  uint32_t batch = 256;         // max PUBLISHes one publisher encodes per loop turn
  uint32_t connections = 1000;  // idle: connections to hold
  uint32_t concurrency = 16;    // storm / idle: connection attempts in flight
  uint32_t backlog = 1000;      // backlog / retained: messages per publisher
  // Time (seconds).
  double duration = 10;
  double drain = 2;       // after publishing stops: wait for deliveries
  double time_limit = 0;  // hard limit; 0 = duration + drain + 10
  double connect_timeout = 5;
  uint16_t keepalive = 60;
  // Runtime.
  uint32_t threads = 1;
  int broker_pid = 0;     // 0 = do not sample broker CPU/RSS
  std::string json_path;  // "" = none, "-" = stdout
  int progress = -1;      // -1 = when stderr is a terminal
  std::string client_prefix = "tqb";
};

// Parses argv-style flags (without argv[0]). Errors name the offending flag.
absl::StatusOr<Scenario> ParseScenario(const std::vector<std::string_view>& args);

// One-line descriptions of every preset and every flag, for --help.
std::string ScenarioUsage();

// Replaces {id} and {group} in `pattern`.
std::string ExpandTopic(std::string_view pattern, uint32_t id, uint32_t groups);

std::string_view ModeName(Mode mode);

}  // namespace telemq::bench
