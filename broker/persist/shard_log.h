// telemq: a shard's durable log: the engine's Persistence over one
// storage::Partition, plus the group-commit policy of the durability mode.
//
// The shard drives it once per loop turn:
//
//   log.SetClock(real_ns, mono_ns);
//   engine.FlushConsumed();                       // may append
//   if (const storage::WriteRequest* w = log.PrepareWrite()) submit(w);
//   ... completion: log.CompleteWrite(res, sync_res);
//   release held output up to log.release_offset();
//
// Durability modes (docs/persistence.md has the exact guarantees):
//   kSync   every group commit is written and fdatasync'ed; acknowledgements
//           wait for the sync. An acknowledged message survives a power loss.
//   kBatch  written every turn, fdatasync'ed at most every `batch_interval`;
//           acknowledgements wait for the write only. An acknowledged
//           message survives the broker being killed; a power loss or kernel
//           crash may lose up to `batch_interval` of them.
//   kNone   written every turn, never waited for: an acknowledgement may
//           precede the write by one loop turn.
//
// Thread: the owning shard's (or one thread before the shard starts).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "broker/persist/records.h"
#include "broker/session/persistence.h"
#include "storage/partition.h"
#include "storage/partition_reader.h"

namespace telemq::persist {

enum class Durability : uint8_t { kSync, kBatch, kNone };

// "sync", "batch", "none" (parse returns false for anything else).
const char* DurabilityName(Durability d);
bool ParseDurability(std::string_view text, Durability* out);

struct LogOptions {
  Durability durability = Durability::kSync;
  int64_t batch_interval_ns = 10'000'000;  // kBatch: longest time between syncs
  // QoS 0 PUBLISHes whose topic matches one of these are logged too.
  std::vector<std::string> persist_filters;
  // Retention of whole closed segments: the partition's size cap, and the
  // age (broker time of a segment's newest record); 0 = unlimited.
  uint64_t retention_bytes = 0;
  int64_t retention_ns = 0;
  // Warn when the data directory's file system has less free space.
  uint64_t disk_warn_free_bytes = 1ull << 30;
  // Every partition's directory, by partition index, for history reads.
  std::vector<std::string> partition_dirs;
  // The file system of partition_dirs; null: the real one (storage::Env::Posix).
  storage::Env* env = nullptr;
};

class ShardLog final : public session::Persistence {
 public:
  ShardLog(uint32_t partition_index, std::unique_ptr<storage::Partition> partition,
           const LogOptions& options);
  ~ShardLog() override;
  ShardLog(const ShardLog&) = delete;
  ShardLog& operator=(const ShardLog&) = delete;

  // Broker time for the records of this turn (ns since the Unix epoch; kept
  // non-decreasing, so a partition's records are in time order) and the
  // monotonic clock for the batch-sync timer.
  void SetClock(int64_t real_ns, int64_t mono_ns);

  // session::Persistence.
  uint32_t partition() const override { return index_; }
  bool ShouldLog(std::string_view topic, uint8_t qos, bool retain) const override;
  absl::StatusOr<uint64_t> AppendMessage(const MessageInit& message, std::string_view origin_client,
                                         uint16_t packet_id) override;
  absl::StatusOr<uint64_t> AppendSession(const session::SessionState& state) override;
  absl::StatusOr<uint64_t> AppendSessionEnd(std::string_view client_id) override;
  void AppendConsumed(std::string_view client_id, std::span<const uint64_t> consumed) override;
  absl::StatusOr<uint64_t> AppendQos2Release(std::string_view client_id,
                                             uint16_t packet_id) override;
  absl::StatusOr<uint64_t> AppendQos2Out(std::string_view client_id,
                                         const session::OutboundQos2& out) override;
  void AppendQos2OutComplete(std::string_view client_id, uint16_t packet_id) override;
  void AppendCheckpointBegin() override;
  void AppendRetainedCopy(const Message& message) override;
  void AppendQos2Pending(std::string_view client_id, std::span<const uint16_t> ids) override;
  void AppendQos2OutPending(std::string_view client_id,
                            std::span<const session::OutboundQos2> entries) override;
  void AppendCheckpointEnd() override;
  absl::Status ReadHistory(const session::HistoryRequest& request, session::History* out) override;

  // Output held behind records below this offset may go out now.
  uint64_t release_offset() const;
  // Whether holding output is needed at all (not in kNone).
  bool holds_output() const { return options_.durability != Durability::kNone; }
  // Whether every write is followed by an fdatasync (kSync).
  bool syncs_every_write() const { return options_.durability == Durability::kSync; }
  // Records at or above this offset are in no write request yet: holds on
  // them will be released together (the shard merges them).
  uint64_t unsubmitted_from() const { return submitted_end_; }

  // The write (and sync) to submit this turn, or null. At most one is in
  // flight; CompleteWrite reports its outcome.
  const storage::WriteRequest* PrepareWrite();
  void CompleteWrite(int64_t write_result, int sync_result);
  // kBatch: when the next sync is due (monotonic ns), INT64_MAX if none.
  int64_t next_sync_ns() const;

  // True once after the partition started a new segment: the shard then
  // writes a checkpoint at its start.
  bool TakeRolled();
  // Retention and the disk guard, every few seconds (the shard's timer).
  // `needed_by_sessions`: the lowest offset of this partition any
  // persistent session of any shard may still need. Deletes only segments
  // wholly below it, below the latest durable checkpoint and written before
  // the previous call (none of their records can still be in a mailbox),
  // and logs what it did.
  void Maintain(uint64_t needed_by_sessions, int64_t now_ns);
  // Begin offset of the latest checkpoint whose end is durable (0: none).
  uint64_t checkpoint_offset() const;

  bool failed() const { return partition_->failed(); }
  absl::Status failure() const { return partition_->failure(); }
  // Writes and syncs everything pending, synchronously (clean shutdown).
  absl::Status Close();

  storage::Partition& partition_store() { return *partition_; }

 private:
  absl::StatusOr<uint64_t> Append(uint8_t type, std::string_view key,
                                  std::span<const std::string_view> parts);

  uint32_t index_;
  std::unique_ptr<storage::Partition> partition_;
  LogOptions options_;
  int64_t ts_ns_ = 0;
  int64_t mono_ns_ = 0;
  int64_t last_sync_ns_ = 0;
  uint64_t submitted_end_ = 0;
  bool reported_failure_ = false;
  MessageValueParts scratch_;

  bool wrote_before_ = false;
  bool rolled_ = false;
  uint64_t checkpoint_begin_ = 0;  // of the checkpoint being written
  uint64_t candidate_begin_ = 0;   // written, end not yet durable
  uint64_t candidate_end_ = 0;
  uint64_t checkpoint_ = 0;        // latest durable checkpoint's begin
  uint64_t previous_written_ = 0;  // written_offset() at the previous Maintain
  // Read-only views of every partition (this one included), opened by the
  // first history read.
  std::vector<std::unique_ptr<storage::PartitionReader>> readers_;
  int64_t next_disk_warning_ns_ = 0;
  int64_t next_prepare_warning_ns_ = 0;
  int64_t next_kept_warning_ns_ = 0;
};

}  // namespace telemq::persist
