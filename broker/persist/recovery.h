// telemq: rebuilding the broker's state from the log at start-up.
//
// Every partition is read once, the partitions merged by record time (each
// is in time order; ShardLog keeps broker time non-decreasing), and the
// records replayed as the broker lived them (docs/persistence.md):
//
//   session / session end   persistent sessions and their subscriptions as of
//                           that moment;
//   message                 retained messages (last per topic); for QoS 1/2,
//                           the persistent sessions whose subscriptions
//                           matched then are owed it, unless their consumed
//                           offset for the partition says they had it;
//   consumed                drops what a session had settled;
//   QoS 2 release           frees a publisher's packet id.
//
// Because a subscription is durable before its SUBACK and a message before
// its PUBACK, every acknowledged message owed to a persistent session is
// found here.
//
//   auto state = Recover(partitions, {.shard_count = 2, .owner = OwnerShard});
//   for (auto& s : state->sessions[k]) engine_k.Restore(std::move(s));
//
// Runs on one thread, before the shards start.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/base/message.h"
#include "broker/session/persistence.h"
#include "storage/partition.h"

namespace telemq::persist {

struct RecoveryOptions {
  uint32_t shard_count = 1;
  // The shard that owns a client id (the broker's hash).
  std::function<uint32_t(std::string_view client_id)> owner;
  int64_t now_ns = 0;  // broker time: expired messages are not restored
  // A session's owed messages held in memory; beyond, its backlog stays in
  // the log (RestoredSession::spill_from). 0: no limit.
  size_t max_queued_messages = 0;
};

struct RecoveredState {
  std::vector<MessageRef> retained;  // live retained messages
  // Persistent sessions by owner shard.
  std::vector<std::vector<session::RestoredSession>> sessions;
  // Every restored subscription and the shard that owns it, so each shard
  // can fill its interest replica before it accepts a connection.
  std::vector<std::pair<std::string, uint32_t>> interest;

  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t owed_messages = 0;
  uint64_t undecodable_records = 0;
  double seconds = 0;
  // A partition that could not be read to its end (damage found while
  // reading): what was lost, for the broker's log.
  std::vector<std::string> read_errors;

  // "recovered 3 sessions (1200 owed messages), 10 retained, from 51234
  // records (12.1 MB) in 0.042 s"
  std::string Summary() const;
};

// `partitions[p]` is partition p (null for a missing index). Reads each from
// its start offset to its written offset.
absl::StatusOr<RecoveredState> Recover(std::span<storage::Partition* const> partitions,
                                       const RecoveryOptions& options);

}  // namespace telemq::persist
