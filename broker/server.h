// telemq: the broker as a library.
//
// A Broker owns N shard threads (DESIGN.md decision 1), each with its own
// io_uring ring and SO_REUSEPORT listener on the configured address. The
// `telemq` binary is a thin main over this class; an appliance can link the
// library and run the broker inside its own process.
//
//   telemq::BrokerConfig config;          // defaults: 127.0.0.1:1883
//   config.port = 0;                      // any free port
//   telemq::Broker broker(config);
//   if (absl::Status s = broker.Start(); !s.ok()) { ... }
//   std::printf("port %u\n", broker.port());
//   ...
//   broker.Stop();                        // from any thread, e.g. a signal handler thread
//   broker.Wait();
//
// Start applies config.log_level to the process's log, opens the log in the
// data directory (locking it against a second broker), recovers it (retained
// messages, persistent sessions and what they are owed: docs/persistence.md),
// and returns once every shard is listening, or with the first error (the
// shards already started are stopped again). Stop asks every shard to send
// 5.0 clients DISCONNECT (Server shutting down), flush what is queued for a
// bounded grace period and close; Wait joins the threads.
//
// broker/server_test.cc runs it in-process against Eclipse Paho C.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "broker/config.h"

namespace telemq {

namespace shard {
class Shard;
class ShardGroup;
}  // namespace shard
namespace persist {
class ShardLog;
struct RecoveredState;
}  // namespace persist
namespace storage {
class Partition;
}  // namespace storage

class Broker {
 public:
  explicit Broker(BrokerConfig config);
  ~Broker();  // Stop() and Wait()
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  absl::Status Start();
  void Stop();
  void Wait();

  // The bound port (the configured one, or the one picked for port 0).
  uint16_t port() const { return port_; }
  uint32_t shard_count() const { return shard_count_; }
  // "defer_taskrun multishot_accept ..." as probed by shard 0.
  const std::string& io_features() const { return io_features_; }
  // Clients the shards' io_uring file tables hold without a process
  // descriptor (net/client_socket.h), all shards together.
  uint64_t direct_descriptor_slots() const { return direct_slots_; }
  // What recovery found ("recovered 3 persistent sessions ..."), for the
  // start-up log line.
  const std::string& recovery_summary() const { return recovery_summary_; }

 private:
  // Locks the data directory, opens and recovers every log partition.
  absl::Status OpenLog(persist::RecoveredState* recovered);

  BrokerConfig config_;
  uint32_t shard_count_ = 0;
  uint16_t port_ = 0;
  std::string io_features_;
  uint64_t direct_slots_ = 0;
  std::string recovery_summary_;
  int lock_fd_ = -1;
  // One log per shard; partitions of earlier runs with more shards are
  // kept open (read at recovery, never written).
  std::vector<std::unique_ptr<persist::ShardLog>> logs_;
  std::vector<std::unique_ptr<storage::Partition>> extra_partitions_;
  std::unique_ptr<shard::ShardGroup> group_;
  std::vector<std::unique_ptr<shard::Shard>> shards_;
  std::vector<std::thread> threads_;
};

}  // namespace telemq
