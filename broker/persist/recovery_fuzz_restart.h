// telemq: the broker side of recovery_fuzz: the log it starts from (two
// partitions in a MemEnv) and what it does with the recovered state, as
// Broker::OpenLog and Shard::Restore / Shard::Init do, with an MqttEngine per
// shard behind a FakeTransport and clients that come back.
//
// Fuzzing only; every violated expectation aborts (Check).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "broker/persist/recovery.h"
#include "storage/mem_env.h"
#include "storage/partition.h"

namespace telemq::persist::fuzz {

// Broker time at start-up; the log's records are written shortly before.
inline constexpr int64_t kNowNs = 1'700'000'000'000'000'000;

// The log sink while fuzzing: lines are dropped, a few are noted.
void LogSink(const std::string& line);

// Aborts, naming the caller's line (a finding's first clue), unless true.
void Check(bool condition, const char* file = __builtin_FILE(), int line = __builtin_LINE());

struct RestartOptions {
  uint32_t shards = 1;
  uint32_t max_queued = 0;  // recovery's and the engines' (0: no recovery limit)
  bool log = false;         // the engines log to their partition (ShardLog)
  bool observer = false;    // a client subscribes to "#" and publishes
  int rounds = 1;           // of acknowledgements
};

// Partitions 0 and 1 of a data directory in memory.
class Log {
 public:
  static std::string Dir(uint32_t p) { return "/data/p" + std::to_string(p); }

  // Opens (and recovers, as storage does) both partitions.
  void Open();
  // Flushes and closes what Open opened and Take did not hand out.
  void Close();
  storage::Partition& partition(uint32_t p) { return *partitions_[p]; }
  std::unique_ptr<storage::Partition> Take(uint32_t p) { return std::move(partitions_[p]); }
  absl::StatusOr<RecoveredState> Recover(const RestartOptions& options);
  storage::MemEnv* env() { return &env_; }

 private:
  storage::MemEnv env_;
  std::unique_ptr<storage::Partition> partitions_[2];
};

// What recovery promises of any log: sessions at their owner shard, owed
// messages from the log at a QoS 1 or 2 no higher than theirs, and only
// topic names and filters a client could have sent.
void CheckRecovered(const RecoveredState& state, const RestartOptions& options);

// Starts the shards on `state` (partitions go to their ShardLog with
// options.log), lets the restored clients reconnect and acknowledge, and
// shuts down. With options.log, every ShardLog is closed at the end, and no
// session may have failed to read its backlog back from the log.
void Restart(Log* log, RecoveredState state, const RestartOptions& options);

}  // namespace telemq::persist::fuzz
