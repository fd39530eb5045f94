#include "broker/persist/recovery.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "broker/base/log.h"
#include "broker/persist/records.h"
#include "broker/persist/time_merge.h"
#include "broker/router/match_result.h"
#include "broker/router/subscription_trie.h"
#include "protocol/common/status_macros.h"

namespace telemq::persist {
namespace {

// A message owed to a session, while replaying.
struct Owed {
  MessageRef message;
  uint8_t qos = 1;
  bool retain = false;
  absl::InlinedVector<uint32_t, 1> subscription_ids;
};

struct ReplaySession {
  std::string client_id;  // set once: Replayer::by_client_ keys view it
  session::SessionState state;
  router::SessionId id = 0;
  std::vector<uint64_t> consumed;      // per partition
  std::vector<std::deque<Owed>> owed;  // per partition, in offset order
  size_t owed_count = 0;               // over every partition
  // Once over the queue limit, later owed messages stay in the log from
  // these offsets on (UINT64_MAX: none of that partition); empty: none.
  std::vector<uint64_t> spill_from;
  absl::flat_hash_set<uint16_t> inbound;  // QoS 2 ids not released
  // Outbound QoS 2 not completed, by packet id (records.h, type 10).
  absl::flat_hash_map<uint16_t, session::OutboundQos2> outbound;
};

struct RetainedEntry {
  MessageRef message;  // null: cleared
  int64_t ts_ns = 0;
  uint32_t partition = 0;
};

class Replayer {
 public:
  Replayer(size_t partitions, const RecoveryOptions& options)
      : partitions_(partitions), options_(options) {
    trie_.EnableMatchCache(65536);
  }

  void Apply(uint32_t p, const storage::Record& r);
  // While a trimmed partition's first checkpoint is applied ahead of the
  // merge, which reads it again in its place: the state records are applied
  // twice (the second time restores the state after the older records before
  // it), but an undecodable record is counted and a message owed only once.
  void set_ahead_of_merge(bool ahead) { ahead_of_merge_ = ahead; }
  void Finish(std::span<storage::Partition* const> partitions, RecoveredState* out);
  uint64_t undecodable() const { return undecodable_; }

 private:
  ReplaySession* Find(std::string_view client_id) {
    // Looked up for every message record (its publisher): no allocation.
    auto it = by_client_.find(client_id);
    return it == by_client_.end() ? nullptr : sessions_[it->second].get();
  }
  void Bad(uint32_t p, const storage::Record& r, const char* what) {
    if (ahead_of_merge_) return;
    if (undecodable_++ < 10) {
      TELEMQ_LOG(kWarning, "recovery: partition %u offset %llu: undecodable %s record, skipped", p,
                 static_cast<unsigned long long>(r.offset), what);
    }
  }
  void SetSession(std::string_view client_id, session::SessionState state);
  void EndSession(std::string_view client_id);
  // `copy`: a retained copy from a checkpoint: restores the retained store,
  // owed to nobody.
  void OnMessage(uint32_t p, const storage::Record& r, const MessageRecord& m, bool copy);

  size_t partitions_;
  RecoveryOptions options_;
  router::SubscriptionTrie trie_;
  router::MatchResult match_;
  std::vector<std::unique_ptr<ReplaySession>> sessions_;  // by SessionId
  std::vector<router::SessionId> free_ids_;
  absl::flat_hash_map<std::string_view, router::SessionId> by_client_;
  absl::flat_hash_map<std::string, RetainedEntry> retained_;
  uint64_t undecodable_ = 0;
  bool ahead_of_merge_ = false;
};

void Replayer::SetSession(std::string_view client_id, session::SessionState state) {
  ReplaySession* s = Find(client_id);
  if (s == nullptr) {
    router::SessionId id;
    if (!free_ids_.empty()) {
      id = free_ids_.back();
      free_ids_.pop_back();
    } else {
      id = static_cast<router::SessionId>(sessions_.size());
      sessions_.emplace_back();
    }
    sessions_[id] = std::make_unique<ReplaySession>();
    s = sessions_[id].get();
    s->id = id;
    s->consumed.assign(partitions_, 0);
    s->owed.resize(partitions_);
    s->client_id = std::string(client_id);
    by_client_.emplace(std::string_view(s->client_id), id);
  } else {
    for (const auto& [filter, options] : s->state.subscriptions) trie_.Unsubscribe(s->id, filter);
  }
  state.client_id = std::string(client_id);
  s->state = std::move(state);
  for (const auto& [filter, options] : s->state.subscriptions) {
    trie_.Subscribe(s->id, filter, options);
  }
}

void Replayer::EndSession(std::string_view client_id) {
  ReplaySession* s = Find(client_id);
  if (s == nullptr) return;
  for (const auto& [filter, options] : s->state.subscriptions) trie_.Unsubscribe(s->id, filter);
  const router::SessionId id = s->id;
  by_client_.erase(std::string_view(s->client_id));
  sessions_[id].reset();
  free_ids_.push_back(id);
}

void Replayer::OnMessage(uint32_t p, const storage::Record& r, const MessageRecord& m, bool copy) {
  const bool expired = m.expiry_ns != 0 && m.expiry_ns <= options_.now_ns;
  // Most of a telemetry log is messages nobody persistent subscribes to:
  // the publisher's session is looked up only when it can matter.
  const bool subscribed = trie_.subscription_count() != 0;
  const bool qos2_id = m.qos == 2 && m.packet_id != 0;
  ReplaySession* origin =
      copy || m.origin_client.empty() || !(subscribed || qos2_id) ? nullptr : Find(m.origin_client);
  if (qos2_id && origin != nullptr) origin->inbound.insert(m.packet_id);
  MessageRef message;
  auto materialize = [&] {
    if (!message) {
      message = Message::Create({.topic = m.topic,
                                 .payload = m.payload,
                                 .properties = m.properties,
                                 .qos = m.qos,
                                 .retain = m.retain,
                                 .origin_session = Message::kNoOrigin,
                                 .origin_shard = static_cast<int32_t>(p),
                                 .arrival_ns = r.timestamp_ns,
                                 .expiry_ns = m.expiry_ns,
                                 .log_partition = p,
                                 .log_offset = r.offset});
    }
    return message;
  };
  if (m.retain) {
    // As the retained store decides: the newest (time, partition) wins;
    // records are replayed in time order, so usually the one at hand.
    auto [it, inserted] = retained_.try_emplace(std::string(m.topic));
    RetainedEntry& e = it->second;
    if (inserted || r.timestamp_ns > e.ts_ns || (r.timestamp_ns == e.ts_ns && p >= e.partition)) {
      e.message = m.payload.empty() || expired ? MessageRef() : materialize();
      e.ts_ns = r.timestamp_ns;
      e.partition = p;
    }
  }
  if (m.qos == 0 || expired || copy || !subscribed) return;
  trie_.Match(m.topic, origin == nullptr ? router::kNoSession : origin->id, &match_);
  for (const router::Delivery& d : match_.deliveries()) {
    ReplaySession& s = *sessions_[d.session];
    const uint8_t qos = std::min(d.qos, m.qos);
    if (qos == 0 || r.offset < s.consumed[p]) continue;
    if (!d.shared && (!s.spill_from.empty() || (options_.max_queued_messages != 0 &&
                                                s.owed_count >= options_.max_queued_messages))) {
      if (s.spill_from.empty()) s.spill_from.assign(partitions_, UINT64_MAX);
      s.spill_from[p] = std::min(s.spill_from[p], r.offset);
      continue;
    }
    ++s.owed_count;
    Owed owed;
    owed.message = materialize();
    owed.qos = qos;
    owed.retain = d.retain_as_published && m.retain;
    for (uint32_t id : match_.subscription_ids(d)) owed.subscription_ids.push_back(id);
    s.owed[p].push_back(std::move(owed));
  }
}

void Replayer::Apply(uint32_t p, const storage::Record& r) {
  switch (r.type) {
    case kRecordMessage:
    case kRecordRetainedCopy: {
      // A checkpoint holds no messages; one there is owed by the merge.
      if (ahead_of_merge_ && r.type == kRecordMessage) return;
      MessageRecord m;
      if (!DecodeMessage(r.key, r.value, &m)) return Bad(p, r, "message");
      OnMessage(p, r, m, r.type == kRecordRetainedCopy);
      return;
    }
    case kRecordQos2Pending: {
      std::vector<uint16_t> ids;
      if (!DecodeQos2PendingValue(r.value, &ids)) return Bad(p, r, "QoS 2 pending");
      if (ReplaySession* s = Find(r.key)) s->inbound = {ids.begin(), ids.end()};
      return;
    }
    case kRecordCheckpointBegin:
      // Partition p's end when the checkpoint began: no consumed record
      // written before it can settle anything at or beyond it, unless that
      // record is stale: messages delivered before they were durable, lost
      // with the partition's tail in a power failure, their offsets taken
      // again after the restart (whose checkpoint this may be). In normal
      // operation the clamp changes nothing.
      for (const std::unique_ptr<ReplaySession>& s : sessions_) {
        if (s == nullptr) continue;
        s->consumed[p] = std::min(s->consumed[p], r.offset);
        if (p < s->spill_from.size() && s->spill_from[p] != UINT64_MAX) {
          s->spill_from[p] = std::min(s->spill_from[p], r.offset);
        }
      }
      return;
    case kRecordCheckpointEnd:
      return;
    case kRecordSession: {
      session::SessionState state;
      if (!DecodeSession(r.key, r.value, &state)) return Bad(p, r, "session");
      SetSession(r.key, std::move(state));
      return;
    }
    case kRecordSessionEnd:
      EndSession(r.key);
      return;
    case kRecordConsumed: {
      std::vector<uint64_t> consumed;
      if (!DecodeConsumedValue(r.value, &consumed)) return Bad(p, r, "consumed");
      ReplaySession* s = Find(r.key);
      if (s == nullptr) return;
      for (size_t q = 0; q < consumed.size() && q < partitions_; ++q) {
        s->consumed[q] = std::max(s->consumed[q], consumed[q]);
        std::deque<Owed>& owed = s->owed[q];
        while (!owed.empty() && owed.front().message->log_offset() < s->consumed[q]) {
          owed.pop_front();
          --s->owed_count;
        }
        if (q < s->spill_from.size() && s->spill_from[q] != UINT64_MAX) {
          s->spill_from[q] = std::max(s->spill_from[q], s->consumed[q]);
        }
      }
      return;
    }
    case kRecordQos2Out: {
      session::OutboundQos2 o;
      if (!DecodeQos2OutValue(r.value, &o)) return Bad(p, r, "QoS 2 out");
      if (ReplaySession* s = Find(r.key)) s->outbound[o.packet_id] = o;
      return;
    }
    case kRecordQos2OutComplete: {
      uint16_t id;
      if (!DecodeQos2ReleaseValue(r.value, &id)) return Bad(p, r, "QoS 2 out complete");
      if (ReplaySession* s = Find(r.key)) s->outbound.erase(id);
      return;
    }
    case kRecordQos2OutPending: {
      std::vector<session::OutboundQos2> entries;
      if (!DecodeQos2OutPendingValue(r.value, &entries)) return Bad(p, r, "QoS 2 out pending");
      if (ReplaySession* s = Find(r.key)) {
        s->outbound.clear();
        for (const session::OutboundQos2& o : entries) s->outbound[o.packet_id] = o;
      }
      return;
    }
    case kRecordQos2Release: {
      uint16_t id;
      if (!DecodeQos2ReleaseValue(r.value, &id)) return Bad(p, r, "QoS 2 release");
      if (ReplaySession* s = Find(r.key)) s->inbound.erase(id);
      return;
    }
    default:
      Bad(p, r, "unknown-type");
  }
}

void Replayer::Finish(std::span<storage::Partition* const> partitions, RecoveredState* out) {
  for (auto& [topic, e] : retained_) {
    if (e.message) out->retained.push_back(std::move(e.message));
  }
  out->sessions.assign(options_.shard_count, {});
  for (auto& holder : sessions_) {
    if (holder == nullptr) continue;
    ReplaySession& s = *holder;
    session::RestoredSession restored;
    const uint32_t owner = options_.owner(s.state.client_id);
    for (const auto& [filter, options] : s.state.subscriptions) {
      out->interest.emplace_back(filter, owner);
    }
    // Everything below a partition's end is now queued here or settled.
    restored.consumed.assign(partitions.size(), 0);
    for (size_t p = 0; p < partitions.size(); ++p) {
      if (partitions[p] != nullptr) restored.consumed[p] = partitions[p]->written_offset();
    }
    // Oldest first across partitions: by arrival time, then partition.
    std::vector<Owed*> order;
    for (std::deque<Owed>& q : s.owed) {
      for (Owed& o : q) order.push_back(&o);
    }
    std::stable_sort(order.begin(), order.end(), [](const Owed* a, const Owed* b) {
      if (a->message->arrival_ns() != b->message->arrival_ns()) {
        return a->message->arrival_ns() < b->message->arrival_ns();
      }
      return a->message->log_partition() < b->message->log_partition();
    });
    restored.queue.reserve(order.size());
    for (Owed* o : order) {
      restored.queue.push_back(
          {std::move(o->message), o->qos, o->retain,
           std::vector<uint32_t>(o->subscription_ids.begin(), o->subscription_ids.end())});
    }
    out->owed_messages += restored.queue.size();
    restored.inbound_qos2.assign(s.inbound.begin(), s.inbound.end());
    for (const auto& [id, o] : s.outbound) restored.outbound_qos2.push_back(o);
    restored.spill_from = std::move(s.spill_from);
    restored.state = std::move(s.state);
    out->sessions[owner].push_back(std::move(restored));
  }
}

absl::Status ApplyFirstCheckpoint(storage::Partition& partition, uint32_t p, Replayer* replayer) {
  struct Copy {
    storage::Record record;
    std::string key, value;
  };
  TELEMQ_ASSIGN_OR_RETURN(std::unique_ptr<storage::LogReader> reader,
                          partition.NewReader(partition.start_offset()));
  std::vector<Copy> records;
  bool begun = false;
  storage::Record r;
  for (;;) {
    TELEMQ_ASSIGN_OR_RETURN(bool more, reader->Next(&r));
    if (!more) break;
    if (r.type == kRecordCheckpointBegin) {
      begun = true;
      records.clear();
    } else if (r.type == kRecordCheckpointEnd && begun) {
      replayer->set_ahead_of_merge(true);
      for (Copy& c : records) {
        c.record.key = c.key;
        c.record.value = c.value;
        replayer->Apply(p, c.record);
      }
      replayer->set_ahead_of_merge(false);
      return absl::OkStatus();
    } else if (begun) {
      records.push_back({r, std::string(r.key), std::string(r.value)});
    }
  }
  return absl::DataLossError(
      absl::StrCat("no complete checkpoint after the oldest offset ", partition.start_offset(),
                   ": persistent sessions and retained messages written before it may be missing"));
}

}  // namespace

std::string RecoveredState::Summary() const {
  size_t n = 0;
  for (const auto& v : sessions) n += v.size();
  std::string s = absl::StrFormat(
      "recovered %zu persistent sessions (%llu owed messages), %zu retained messages, from %llu "
      "records (%.1f MB) in %.3f s",
      n, static_cast<unsigned long long>(owed_messages), retained.size(),
      static_cast<unsigned long long>(records), static_cast<double>(bytes) / 1e6, seconds);
  if (undecodable_records != 0) {
    absl::StrAppend(&s, "; ", undecodable_records, " undecodable records skipped");
  }
  return s;
}

absl::StatusOr<RecoveredState> Recover(std::span<storage::Partition* const> partitions,
                                       const RecoveryOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  RecoveredState out;
  Replayer replayer(partitions.size(), options);
  // A partition whose oldest segments retention deleted starts with a
  // checkpoint of the state its shard owned (docs/persistence.md). That
  // state existed before anything else still in the log: apply it first.
  for (uint32_t p = 0; p < partitions.size(); ++p) {
    if (partitions[p] == nullptr || partitions[p]->start_offset() == 0) continue;
    absl::Status s = ApplyFirstCheckpoint(*partitions[p], p, &replayer);
    if (!s.ok()) out.read_errors.push_back(absl::StrCat("partition ", p, ": ", s.message()));
  }
  TimeMerge merge;
  for (uint32_t p = 0; p < partitions.size(); ++p) {
    if (partitions[p] == nullptr) continue;
    absl::StatusOr<std::unique_ptr<storage::LogReader>> reader =
        partitions[p]->NewReader(partitions[p]->start_offset());
    if (!reader.ok()) return reader.status();
    merge.Add(p, *std::move(reader));
  }
  uint32_t p;
  const storage::Record* record;
  while (merge.Next(&p, &record)) {
    ++out.records;
    out.bytes += record->key.size() + record->value.size();
    replayer.Apply(p, *record);
  }
  // Damage found while reading past what recovery checked: what follows in
  // that partition cannot be replayed. Said; the rest is kept.
  for (const std::string& e : merge.errors()) out.read_errors.push_back(e);
  replayer.Finish(partitions, &out);
  out.undecodable_records = replayer.undecodable();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace telemq::persist
