// Replay on request: a 5.0 SUBSCRIBE with the user property "replay-from"
// also gets the logged history of its filters (docs/persistence.md, Replay).
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "broker/base/log.h"
#include "broker/router/topic.h"
#include "broker/session/engine_internal.h"

namespace telemq::session {

namespace {
// Live messages already replayed are recognised for this long after the
// replay (they travel between shards in microseconds).
constexpr int64_t kReplayWindowNs = 10 * kNsPerSecond;
}  // namespace

bool ParseReplayFrom(std::string_view text, int64_t now_ns, int64_t* from_ns) {
  std::string t(text);
  if (t.empty()) return false;
  if (t[0] == '-') {
    // Relative: "-90s", "-15m", "-2h", "-7d".
    const char unit = t.back();
    const int64_t scale = unit == 's'   ? 1
                          : unit == 'm' ? 60
                          : unit == 'h' ? 3600
                          : unit == 'd' ? 86400
                                        : 0;
    double n;
    if (scale == 0 || !absl::SimpleAtod(t.substr(1, t.size() - 2), &n) || !(n >= 0) ||
        n * static_cast<double>(scale) > 1e9) {
      return false;
    }
    *from_ns = now_ns - static_cast<int64_t>(n * static_cast<double>(scale) * 1e9);
    return true;
  }
  double seconds;
  if (absl::SimpleAtod(t, &seconds)) {
    if (!(seconds >= 0) || seconds > 1e11) return false;  // Unix seconds, up to year 5138
    *from_ns = static_cast<int64_t>(std::llround(seconds * 1e9));
    return true;
  }
  absl::Time at;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, t, &at, &err)) return false;
  *from_ns = absl::ToUnixNanos(at);
  return true;
}

void MqttEngine::Replay(Session& s, const std::string& filter, uint8_t qos, int64_t from_ns,
                        uint32_t subscription_id) {
  const size_t room = s.queue.size() < options_.max_queued_messages
                          ? options_.max_queued_messages - s.queue.size()
                          : 0;
  HistoryRequest request;
  request.from_ns = from_ns;
  request.max_messages = std::min<size_t>(options_.replay_max_messages, room);
  request.accept = [&filter](std::string_view topic, uint8_t, std::string_view) {
    return router::TopicMatchesFilter(filter, topic);
  };
  History history;
  if (absl::Status st = persistence_->ReadHistory(request, &history); !st.ok()) {
    TELEMQ_LOG(kWarning, "client '%s': replay of '%s' failed: %s", s.client_id, filter,
               std::string(st.message()));
    return;
  }
  size_t sent = 0;
  for (MessageRef& m : history.messages) {
    if (m->expiry_ns() != 0 && m->expiry_ns() <= real_ns_) continue;  // 5.0 3.3.2.3.3
    ++sent;
    Outbound out;
    out.message = std::move(m);
    // History goes at the subscription's QoS: a client that wants all of it
    // reliably subscribes at QoS 1 (QoS 0 beyond its output buffer drops).
    out.qos = qos;
    if (subscription_id != 0) out.subscription_ids.push_back(subscription_id);
    Enqueue(s, std::move(out));
  }
  TELEMQ_LOG(kInfo, "client '%s': replayed %zu logged messages of '%s'%s", s.client_id, sent,
             filter,
             history.truncated ? " (stopped at --replay-max-messages or the queue limit)" : "");
  s.replays.push_back({filter, std::move(history.ends), mono_ns_ + kReplayWindowNs});
}

bool MqttEngine::AlreadyReplayed(Session& s, const Message& m) {
  bool replayed = false;
  for (size_t i = 0; i < s.replays.size();) {
    Session::ReplayWindow& w = s.replays[i];
    if (w.until_ns <= mono_ns_) {
      w = std::move(s.replays.back());
      s.replays.pop_back();
      continue;
    }
    const uint32_t p = m.log_partition();
    replayed = replayed || (p < w.ends.size() && m.log_offset() < w.ends[p] &&
                            router::TopicMatchesFilter(w.filter, m.topic()));
    ++i;
  }
  return replayed;
}

}  // namespace telemq::session
