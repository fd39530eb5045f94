#include "broker/persist/shard_log.h"

#include <algorithm>

#include "broker/base/log.h"
#include "broker/persist/time_merge.h"
#include "broker/router/topic.h"
#include "protocol/common/status_macros.h"

namespace telemq::persist {

const char* DurabilityName(Durability d) {
  switch (d) {
    case Durability::kSync:
      return "sync";
    case Durability::kBatch:
      return "batch";
    case Durability::kNone:
      return "none";
  }
  return "?";
}

bool ParseDurability(std::string_view text, Durability* out) {
  for (Durability d : {Durability::kSync, Durability::kBatch, Durability::kNone}) {
    if (text == DurabilityName(d)) {
      *out = d;
      return true;
    }
  }
  return false;
}

ShardLog::ShardLog(uint32_t partition_index, std::unique_ptr<storage::Partition> partition,
                   const LogOptions& options)
    : index_(partition_index), partition_(std::move(partition)), options_(options) {
  submitted_end_ = partition_->next_offset();
  if (options_.env == nullptr) options_.env = storage::Env::Posix();
}

ShardLog::~ShardLog() = default;

void ShardLog::SetClock(int64_t real_ns, int64_t mono_ns) {
  ts_ns_ = std::max(ts_ns_, real_ns);
  mono_ns_ = mono_ns;
}

bool ShardLog::ShouldLog(std::string_view topic, uint8_t qos, bool retain) const {
  if (qos > 0 || retain) return true;
  for (const std::string& filter : options_.persist_filters) {
    if (router::TopicMatchesFilter(filter, topic)) return true;
  }
  return false;
}

absl::StatusOr<uint64_t> ShardLog::Append(uint8_t type, std::string_view key,
                                          std::span<const std::string_view> parts) {
  return partition_->Append(type, key, parts, ts_ns_);
}

absl::StatusOr<uint64_t> ShardLog::AppendMessage(const MessageInit& message,
                                                 std::string_view origin_client,
                                                 uint16_t packet_id) {
  EncodeMessageValue(message, origin_client, packet_id, &scratch_);
  return Append(kRecordMessage, message.topic, scratch_.parts);
}

absl::StatusOr<uint64_t> ShardLog::AppendSession(const session::SessionState& state) {
  const std::string value = EncodeSessionValue(state);
  const std::string_view part = value;
  return Append(kRecordSession, state.client_id, {&part, 1});
}

absl::StatusOr<uint64_t> ShardLog::AppendSessionEnd(std::string_view client_id) {
  return Append(kRecordSessionEnd, client_id, {});
}

void ShardLog::AppendConsumed(std::string_view client_id, std::span<const uint64_t> consumed) {
  const std::string value = EncodeConsumedValue(consumed);
  const std::string_view part = value;
  // Best effort by contract: a failed log reports itself through the
  // records that do wait for it.
  (void)Append(kRecordConsumed, client_id, {&part, 1});
}

absl::StatusOr<uint64_t> ShardLog::AppendQos2Release(std::string_view client_id,
                                                     uint16_t packet_id) {
  const std::string value = EncodeQos2ReleaseValue(packet_id);
  const std::string_view part = value;
  return Append(kRecordQos2Release, client_id, {&part, 1});
}

absl::StatusOr<uint64_t> ShardLog::AppendQos2Out(std::string_view client_id,
                                                 const session::OutboundQos2& out) {
  const std::string value = EncodeQos2OutValue(out);
  const std::string_view part = value;
  return Append(kRecordQos2Out, client_id, {&part, 1});
}

void ShardLog::AppendQos2OutComplete(std::string_view client_id, uint16_t packet_id) {
  const std::string value = EncodeQos2ReleaseValue(packet_id);
  const std::string_view part = value;
  (void)Append(kRecordQos2OutComplete, client_id, {&part, 1});
}

void ShardLog::AppendCheckpointBegin() {
  if (auto r = Append(kRecordCheckpointBegin, "", {}); r.ok()) checkpoint_begin_ = *r;
}

void ShardLog::AppendRetainedCopy(const Message& m) {
  const MessageInit init{.topic = m.topic(),
                         .payload = m.payload(),
                         .properties = m.properties(),
                         .qos = m.qos(),
                         .retain = true,
                         .expiry_ns = m.expiry_ns()};
  EncodeMessageValue(init, "", 0, &scratch_);
  (void)Append(kRecordRetainedCopy, m.topic(), scratch_.parts);
}

void ShardLog::AppendQos2Pending(std::string_view client_id, std::span<const uint16_t> ids) {
  const std::string value = EncodeQos2PendingValue(ids);
  const std::string_view part = value;
  (void)Append(kRecordQos2Pending, client_id, {&part, 1});
}

void ShardLog::AppendQos2OutPending(std::string_view client_id,
                                    std::span<const session::OutboundQos2> entries) {
  const std::string value = EncodeQos2OutPendingValue(entries);
  const std::string_view part = value;
  (void)Append(kRecordQos2OutPending, client_id, {&part, 1});
}

void ShardLog::AppendCheckpointEnd() {
  if (auto r = Append(kRecordCheckpointEnd, "", {}); r.ok()) {
    candidate_begin_ = checkpoint_begin_;
    candidate_end_ = *r;
  }
}

absl::Status ShardLog::ReadHistory(const session::HistoryRequest& request, session::History* out) {
  if (readers_.empty()) {
    for (const std::string& dir : options_.partition_dirs) {
      TELEMQ_ASSIGN_OR_RETURN(std::unique_ptr<storage::PartitionReader> r,
                              storage::PartitionReader::Open(options_.env, dir));
      readers_.push_back(std::move(r));
    }
  }
  // Other shards append meanwhile: each read sees what is complete now.
  TimeMerge merge;
  for (uint32_t p = 0; p < readers_.size(); ++p) {
    storage::PartitionReader& r = *readers_[p];
    TELEMQ_RETURN_IF_ERROR(r.Refresh());
    uint64_t from;
    if (request.from_offsets.empty()) {
      TELEMQ_ASSIGN_OR_RETURN(from, r.OffsetForTime(request.from_ns));
    } else if (p >= request.from_offsets.size() || request.from_offsets[p] == UINT64_MAX) {
      continue;
    } else {
      from = request.from_offsets[p];
    }
    TELEMQ_ASSIGN_OR_RETURN(std::unique_ptr<storage::LogReader> reader, r.ReadFrom(from));
    merge.Add(p, std::move(reader));
  }
  uint32_t p;
  const storage::Record* r;
  MessageRecord m;
  while (merge.Next(&p, &r)) {
    if (r->type != kRecordMessage || !DecodeMessage(r->key, r->value, &m) ||
        !request.accept(m.topic, m.qos, m.origin_client)) {
      continue;
    }
    if (out->messages.size() >= request.max_messages) {
      out->truncated = true;
      break;
    }
    out->messages.push_back(Message::Create({.topic = m.topic,
                                             .payload = m.payload,
                                             .properties = m.properties,
                                             .qos = m.qos,
                                             .retain = m.retain,
                                             .origin_shard = static_cast<int32_t>(p),
                                             .arrival_ns = r->timestamp_ns,
                                             .expiry_ns = m.expiry_ns,
                                             .log_partition = p,
                                             .log_offset = r->offset}));
  }
  // Stopped early or not, each partition stands where reading stopped.
  out->ends.assign(readers_.size(), 0);
  for (uint32_t q = 0; q < readers_.size(); ++q) {
    if (merge.Has(q)) out->ends[q] = merge.Pending(q);
  }
  if (!merge.errors().empty()) return absl::DataLossError(merge.errors().front());
  return absl::OkStatus();
}

uint64_t ShardLog::checkpoint_offset() const {
  if (candidate_end_ != 0 && partition_->durable_offset() > candidate_end_) {
    return candidate_begin_;
  }
  return checkpoint_;
}

bool ShardLog::TakeRolled() {
  const bool r = rolled_;
  rolled_ = false;
  return r;
}

void ShardLog::Maintain(uint64_t needed_by_sessions, int64_t now_ns) {
  if (partition_->failed()) return;
  checkpoint_ = checkpoint_offset();
  // What was written by the previous call: a segment is deleted only once
  // it was complete one maintenance interval ago, long after every record in
  // it left the mailboxes towards other shards' sessions.
  const uint64_t settled = previous_written_;
  previous_written_ = partition_->written_offset();

  if (options_.retention_bytes != 0 || options_.retention_ns != 0) {
    storage::RetentionPolicy policy;
    policy.max_bytes = options_.retention_bytes;
    policy.max_age_ns = options_.retention_ns;
    // Without a durable checkpoint, older segments hold state found nowhere
    // else.
    policy.needed_from = std::min({needed_by_sessions, checkpoint_, settled});
    const storage::RetentionResult r = partition_->ApplyRetention(policy, now_ns);
    if (r.deleted_segments != 0) {
      TELEMQ_LOG(kInfo,
                 "log partition %u: retention deleted %u segments (%llu bytes); oldest "
                 "offset now %llu",
                 index_, r.deleted_segments, static_cast<unsigned long long>(r.deleted_bytes),
                 static_cast<unsigned long long>(r.start_offset));
    }
    if (r.kept_needed_segments != 0 && mono_ns_ >= next_kept_warning_ns_) {
      next_kept_warning_ns_ = mono_ns_ + 60'000'000'000;
      TELEMQ_LOG(kWarning,
                 "log partition %u: %u segments over the retention limits are kept because "
                 "persistent sessions still need them (from offset %llu)",
                 index_, r.kept_needed_segments,
                 static_cast<unsigned long long>(policy.needed_from));
    }
  }
  if (absl::Status s = partition_->TakePreparationError();
      !s.ok() && mono_ns_ >= next_prepare_warning_ns_) {
    // Only slower syncs follow; the next segment is prepared again.
    TELEMQ_LOG(kWarning, "log partition %u: %s", index_, std::string(s.message()));
    next_prepare_warning_ns_ = mono_ns_ + 60'000'000'000;
  }
  if (mono_ns_ >= next_disk_warning_ns_) {
    absl::StatusOr<storage::DiskUsage> usage = options_.env->Usage(partition_->dir());
    if (usage.ok() && usage->available_bytes < options_.disk_warn_free_bytes) {
      TELEMQ_LOG(kWarning,
                 "data directory disk nearly full: %llu MiB free; when it is full, log partitions "
                 "stop and QoS 1/2 messages are refused (set --retention-mb / --retention-hours)",
                 static_cast<unsigned long long>(usage->available_bytes >> 20));
      next_disk_warning_ns_ = mono_ns_ + 60'000'000'000;
    }
  }
}

uint64_t ShardLog::release_offset() const {
  switch (options_.durability) {
    case Durability::kSync:
      return partition_->durable_offset();
    case Durability::kBatch:
      return partition_->written_offset();
    case Durability::kNone:
      break;
  }
  return UINT64_MAX;
}

const storage::WriteRequest* ShardLog::PrepareWrite() {
  if (partition_->failed() || partition_->write_in_flight()) return nullptr;
  bool sync = false;
  switch (options_.durability) {
    case Durability::kSync:
      sync = true;
      break;
    case Durability::kBatch:
      sync = mono_ns_ - last_sync_ns_ >= options_.batch_interval_ns;
      break;
    case Durability::kNone:
      break;
  }
  if (!partition_->has_unwritten() && !(sync && partition_->has_unsynced())) return nullptr;
  const storage::WriteRequest* w = partition_->PrepareWrite(sync);
  if (w != nullptr) {
    submitted_end_ = std::max(submitted_end_, w->end_offset);
    if (w->sync) last_sync_ns_ = mono_ns_;
    // A write at position 0 after an earlier write starts a new segment.
    if (wrote_before_ && w->position == 0 && !w->iov.empty()) rolled_ = true;
    wrote_before_ = wrote_before_ || !w->iov.empty();
  }
  return w;
}

void ShardLog::CompleteWrite(int64_t write_result, int sync_result) {
  partition_->CompleteWrite(write_result, sync_result);
  if (partition_->failed() && !reported_failure_) {
    reported_failure_ = true;
    TELEMQ_LOG(kError,
               "log partition %u stopped for good: %s. QoS 1/2 PUBLISH, persistent sessions "
               "and subscriptions are refused until the broker is restarted",
               index_, std::string(partition_->failure().message()));
  }
}

int64_t ShardLog::next_sync_ns() const {
  if (options_.durability != Durability::kBatch || !partition_->has_unsynced()) return INT64_MAX;
  return last_sync_ns_ + options_.batch_interval_ns;
}

absl::Status ShardLog::Close() {
  if (partition_->failed()) return partition_->failure();
  return partition_->FlushNow(/*sync=*/true);
}

}  // namespace telemq::persist
