// telemq: broker configuration, from command-line flags and an optional file.
//
// Every setting has one name, used both as a flag (--max-inflight=32 or
// --max-inflight 32) and as a key in the config file (max_inflight = 32 or
// max-inflight = 32; '#' starts a comment). Flags override the file. Any
// unknown name, missing value, malformed number or out-of-range value is an
// error that names the setting and the reason; the binary prints it and exits
// non-zero instead of starting with a guess.
//
//   absl::StatusOr<BrokerConfig> config = ParseCommandLine(argc, argv);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace telemq {

struct BrokerConfig {
  std::string host = "127.0.0.1";  // listen address (IPv4 or IPv6 literal)
  uint16_t port = 1883;            // 0: pick a free port (reported at start-up)
  int threads = 0;                 // shards; 0: one per core
  // A busy shard waits up to this long for more completions before a turn
  // (fewer, larger reads under load); 0: never.
  uint32_t busy_wait_us = 50;
  std::string data_dir = "./data";
  std::string log_level = "info";
  // Written with the bound port once listening (tests start on port 0).
  std::string port_file;

  // Limits. Each has a clear reaction when exceeded (docs/mqtt_conformance.md).
  uint32_t max_connections = 100000;  // per broker; extra sockets are closed at accept
  // Clients as io_uring direct descriptors first (broker/net/client_socket.h):
  // more clients than the open-file limit, but no client socket in
  // /proc/<pid>/fd (ss -p, lsof) until the tables are full.
  bool direct_descriptors = true;
  uint32_t max_packet_size = 1 << 20;  // bytes; larger packets close the connection
  // Unacknowledged QoS 1/2 deliveries per client. A subscriber gets at most
  // this many per round trip, so a low default caps QoS 1 throughput (20:
  // 0.43 M msg/s fan-in, 256: 1.27 M, docs/benchmarks.md); a 5.0 client's
  // Receive Maximum lowers it.
  uint32_t max_inflight = 256;
  uint32_t max_queued_messages = 10000;      // per session, QoS 1/2 waiting to be sent
  uint64_t max_queued_bytes = 64ull << 20;   // per session
  uint64_t max_output_bytes = 4ull << 20;    // per connection; QoS 0 beyond it is dropped
  uint32_t max_keepalive = 65535;            // seconds; 5.0 clients asking more are told this
  uint32_t receive_maximum = 1024;           // 5.0: unacknowledged QoS 1/2 from one client
  uint32_t session_expiry_max = 0xFFFFFFFF;  // seconds (5.0 session expiry cap)
  uint32_t max_subscriptions = 10000;        // per session; more get SUBACK 0x80 / 0x97

  // Durability (docs/persistence.md).
  std::string durability = "sync";    // sync, batch or none
  uint32_t durability_batch_ms = 10;  // batch: longest time between fdatasyncs
  uint32_t segment_mb = 64;           // log segment size
  uint64_t retention_mb = 0;          // per partition; 0: unlimited
  uint32_t retention_hours = 0;       // 0: unlimited
  uint32_t retention_check_s = 10;    // how often retention and the disk guard run
  // QoS 0 PUBLISHes on topics matching these filters are logged too.
  std::vector<std::string> persist_filters;
  uint32_t replay_max_messages = 100000;  // per filter of a SUBSCRIBE with replay-from
  bool help = false;                      // --help was given
};

// Parses argv (argv[0] is skipped). A --config=<file> flag is read first,
// wherever it stands, then the remaining flags override it.
absl::StatusOr<BrokerConfig> ParseCommandLine(int argc, const char* const* argv);

// Applies "key = value" lines to *config.
absl::Status ApplyConfigText(const std::string& text, const std::string& origin,
                             BrokerConfig* config);

// The --help text: every setting with its default.
std::string ConfigUsage();

}  // namespace telemq
