// A persistent session's backlog beyond its queue limits stays in the log
// (session.h, spill_from): as the client drains its queue, the next part is
// read back from every partition, oldest first, and queued. Memory stays
// bounded by the queue limits however long the backlog.
#include "broker/base/log.h"
#include "broker/router/topic.h"
#include "broker/session/engine_internal.h"
#include "protocol/mqtt/topic.h"

namespace telemq::session {

namespace {
constexpr int64_t kRefillRetryNs = 1'000'000;  // 1 ms: records still being written
constexpr int64_t kRefillErrorRetryNs = 1'000'000'000;
}  // namespace

void MqttEngine::Refill(Session& s) {
  s.refill_due_ns = 0;
  if (!s.spilled() || s.conn == kNoConn || persistence_ == nullptr) return;
  if (s.queue.size() >= options_.max_queued_messages) return;

  // Matched against the session's subscriptions as they are now; shared
  // ones never spill (Enqueue), so they are left out.
  struct Match {
    uint8_t qos = 0;
    bool retain_as_published = false;
    absl::InlinedVector<uint32_t, 1> ids;
  };
  auto match = [&s](std::string_view topic, uint8_t msg_qos, std::string_view origin, Match* out) {
    bool any = false;
    for (const auto& [filter, o] : s.subscriptions) {
      if (filter.rfind("$share/", 0) == 0 || o.qos == 0) continue;
      if (o.no_local && origin == s.client_id) continue;
      if (!router::TopicMatchesFilter(filter, topic)) continue;
      any = true;
      if (out != nullptr) {
        out->qos = std::max(out->qos, std::min(o.qos, msg_qos));
        out->retain_as_published |= o.retain_as_published;
        if (o.subscription_id != 0) out->ids.push_back(o.subscription_id);
      }
    }
    return any && msg_qos > 0;
  };

  HistoryRequest request;
  request.from_offsets = s.spill_from;
  request.max_messages = options_.max_queued_messages - s.queue.size();
  request.accept = [&](std::string_view topic, uint8_t qos, std::string_view origin) {
    return match(topic, qos, origin, nullptr);
  };
  History history;
  if (absl::Status st = persistence_->ReadHistory(request, &history); !st.ok()) {
    TELEMQ_LOG(kWarning, "session '%s': reading its backlog from the log failed: %s; retrying",
               s.client_id, std::string(st.message()));
    s.refill_due_ns = mono_ns_ + kRefillErrorRetryNs;
    transport_->WakeAt(s.refill_due_ns);
    return;
  }
  for (MessageRef& m : history.messages) {
    Match mt;
    // The origin's client id is not kept in a Message; no-local was applied
    // by accept() above.
    match(m->topic(), m->qos(), "", &mt);
    Outbound out;
    out.message = std::move(m);
    out.qos = mt.qos;
    out.retain = mt.retain_as_published && out.message->retain();
    out.tracked = true;
    out.subscription_ids.assign(mt.ids.begin(), mt.ids.end());
    s.NoteRouted(*out.message);
    s.AddPending(*out.message);
    s.queued_bytes += out.message->footprint();
    s.queue.push_back(std::move(out));
  }
  stats_.refilled += history.messages.size();
  bool caught_up = !history.truncated;
  for (size_t p = 0; p < s.spill_from.size(); ++p) {
    if (s.spill_from[p] == UINT64_MAX) continue;
    if (p < history.ends.size()) s.spill_from[p] = std::max(s.spill_from[p], history.ends[p]);
    // Everything routed to the session from p so far has been read.
    const uint64_t seen = p < s.progress.size() ? s.progress[p].seen_end : 0;
    caught_up = caught_up && s.spill_from[p] >= seen;
  }
  MarkConsumedDirty(s);
  if (caught_up) {
    s.spill_from.clear();
    TELEMQ_LOG(kInfo, "session '%s': backlog read back from the log; queueing in memory again",
               s.client_id);
  } else if (history.messages.empty()) {
    // What was routed is not complete in the log yet (another shard's
    // write in flight): look again shortly.
    s.refill_due_ns = mono_ns_ + kRefillRetryNs;
    transport_->WakeAt(s.refill_due_ns);
  }
}

}  // namespace telemq::session
