// The engine's durable side (persistence.h): logging persistent sessions,
// restoring them after a restart, and the records that let retention and
// recovery know what each session has consumed.
#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "broker/base/log.h"
#include "broker/session/engine_internal.h"

namespace telemq::session {

bool MqttEngine::LogSession(Session& s, ConnId c) {
  if (persistence_ == nullptr) return true;
  absl::StatusOr<uint64_t> offset;
  if (s.persistent()) {
    offset = persistence_->AppendSession({s.client_id, s.version, s.expiry_s, s.subscriptions});
  } else if (s.logged) {
    offset = persistence_->AppendSessionEnd(s.client_id);
  } else {
    return true;
  }
  if (!offset.ok()) {
    TELEMQ_LOG(kError, "session '%s': %s", s.client_id, std::string(offset.status().message()));
    return false;
  }
  s.logged = s.persistent();
  if (c != kNoConn) transport_->HoldOutput(c, *offset);
  return true;
}

void MqttEngine::Restore(RestoredSession restored) {
  Session& s = CreateSession(std::move(restored.state.client_id));
  s.version = restored.state.version;
  s.expiry_s = restored.state.expiry_s;
  s.logged = true;
  s.disconnected_ns = mono_ns_;  // the expiry clock restarts with the broker
  for (const auto& [filter, options] : restored.state.subscriptions) {
    transport_->Subscribe(s.id, filter, options);
    s.SetSubscription(filter, options);
  }
  s.progress.resize(restored.consumed.size());
  for (size_t p = 0; p < restored.consumed.size(); ++p) {
    s.progress[p].seen_end = restored.consumed[p];
  }
  // QoS 2 the client knows by packet id (persistence.h): a message still
  // owed is resent with its id, in flight; any other id gets its PUBREL.
  absl::flat_hash_map<std::pair<uint32_t, uint64_t>, uint16_t> sent_ids;
  for (const OutboundQos2& o : restored.outbound_qos2) {
    if (!o.released) sent_ids[{o.partition, o.offset}] = o.packet_id;
  }
  for (RestoredSession::Owed& owed : restored.queue) {
    if (!sent_ids.empty() && owed.message->logged()) {
      auto it = sent_ids.find({owed.message->log_partition(), owed.message->log_offset()});
      if (it != sent_ids.end()) {
        InFlight f;
        f.out.message = std::move(owed.message);
        f.out.qos = 2;
        f.out.retain = owed.retain;
        f.out.tracked = true;
        f.out.subscription_ids.assign(owed.subscription_ids.begin(), owed.subscription_ids.end());
        f.packet_id = it->second;
        f.state = InFlight::State::kAwaitPubrec;
        f.logged = true;
        s.NoteRouted(*f.out.message);
        s.AddPending(*f.out.message);
        s.inflight.push_back(std::move(f));
        sent_ids.erase(it);
        continue;
      }
    }
    Outbound out;
    out.message = std::move(owed.message);
    out.qos = owed.qos;
    out.retain = owed.retain;
    out.subscription_ids.assign(owed.subscription_ids.begin(), owed.subscription_ids.end());
    const size_t bytes = out.message->footprint();
    if (s.queue.size() >= options_.max_queued_messages ||
        s.queued_bytes + bytes > options_.max_queued_bytes) {
      ++stats_.queue_dropped;
      ++s.dropped_messages;
      continue;
    }
    if (out.message->logged()) {
      out.tracked = true;
      s.NoteRouted(*out.message);
      s.AddPending(*out.message);
    }
    s.queued_bytes += bytes;
    s.queue.push_back(std::move(out));
  }
  if (s.dropped_messages != 0) {
    TELEMQ_LOG(kWarning, "session '%s': %llu recovered messages over the queue limits dropped",
               s.client_id, static_cast<unsigned long long>(s.dropped_messages));
  }
  for (const auto& [position, id] : sent_ids) {
    s.inflight.push_back(
        InFlight{.packet_id = id, .state = InFlight::State::kAwaitPubcomp, .logged = true});
  }
  for (const OutboundQos2& o : restored.outbound_qos2) {
    if (o.released) {
      s.inflight.push_back(InFlight{
          .packet_id = o.packet_id, .state = InFlight::State::kAwaitPubcomp, .logged = true});
    }
  }
  if (!s.inflight.empty()) {
    // Fresh ids start past the restored ones.
    uint16_t highest = 0;
    for (const InFlight& f : s.inflight) highest = std::max(highest, f.packet_id);
    s.next_packet_id = static_cast<uint16_t>(highest == 65535 ? 1 : highest + 1);
  }
  for (uint16_t id : restored.inbound_qos2) s.inbound_qos2.insert(id);
  s.spill_from = std::move(restored.spill_from);
  if (s.expiry_s != UINT32_MAX) {
    transport_->WakeAt(mono_ns_ + int64_t{s.expiry_s} * kNsPerSecond);
  }
}

void MqttEngine::MarkConsumedDirty(Session& s) {
  if (s.consumed_dirty || !s.logged) return;
  s.consumed_dirty = true;
  consumed_dirty_.push_back(s.id);
}

void MqttEngine::FlushConsumed() {
  for (SessionId id : consumed_dirty_) {
    // Ended sessions leave stale ids behind; their slot is null or reused
    // (then the flag tells whether the new session is listed).
    Session* s = sessions_[id].get();
    if (s == nullptr || !s->consumed_dirty) continue;
    s->consumed_dirty = false;
    if (persistence_ == nullptr || !s->logged) continue;
    s->ConsumedOffsets(&scratch_consumed_);
    persistence_->AppendConsumed(s->client_id, scratch_consumed_);
  }
  consumed_dirty_.clear();
}

void MqttEngine::WriteCheckpoint() {
  if (persistence_ == nullptr) return;
  persistence_->AppendCheckpointBegin();
  std::vector<uint16_t> ids;
  std::vector<OutboundQos2> outbound;
  for (const auto& holder : sessions_) {
    const Session* s = holder.get();
    if (s == nullptr || !s->logged) continue;
    // Errors surface through the records that wait for the log.
    (void)persistence_->AppendSession({s->client_id, s->version, s->expiry_s, s->subscriptions});
    s->ConsumedOffsets(&scratch_consumed_);
    persistence_->AppendConsumed(s->client_id, scratch_consumed_);
    ids.assign(s->inbound_qos2.begin(), s->inbound_qos2.end());
    if (!ids.empty()) persistence_->AppendQos2Pending(s->client_id, ids);
    outbound.clear();
    for (const InFlight& f : s->inflight) {
      if (!f.logged) continue;
      OutboundQos2 o{.packet_id = f.packet_id,
                     .released = f.state == InFlight::State::kAwaitPubcomp};
      if (!o.released) {
        o.partition = f.out.message->log_partition();
        o.offset = f.out.message->log_offset();
      }
      outbound.push_back(o);
    }
    // Always written: it replaces the deltas the checkpoint lets go of.
    persistence_->AppendQos2OutPending(s->client_id, outbound);
  }
  const uint32_t mine = persistence_->partition();
  retained_.ForEach([&](const MessageRef& m) {
    if (m->logged() && m->log_partition() == mine) persistence_->AppendRetainedCopy(*m);
  });
  persistence_->AppendCheckpointEnd();
}

void MqttEngine::NeededOffsets(std::vector<uint64_t>* needed) const {
  needed->clear();
  std::vector<uint64_t> consumed;
  for (const auto& holder : sessions_) {
    const Session* s = holder.get();
    if (s == nullptr || !s->logged) continue;
    s->ConsumedOffsets(&consumed);
    if (needed->size() < consumed.size()) needed->resize(consumed.size(), UINT64_MAX);
    for (size_t p = 0; p < consumed.size(); ++p) {
      // A partition the session never received from: it needs nothing there.
      if (s->progress[p].seen_end == 0 && s->progress[p].pending == 0) continue;
      (*needed)[p] = std::min((*needed)[p], consumed[p]);
    }
  }
}

}  // namespace telemq::session
