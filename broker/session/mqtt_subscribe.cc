// SUBSCRIBE and UNSUBSCRIBE: granted QoS, subscription options, retained
// messages at subscribe time.
#include "broker/base/log.h"
#include "broker/session/engine_internal.h"
#include "protocol/mqtt/topic.h"

namespace telemq::session {

using mqtt::PropertyId;
using mqtt::ProtocolVersion;
using mqtt::ReasonCode;

void MqttEngine::NoteRefusedSubscriptions(const Connection& conn, size_t refused) {
  stats_.subscriptions_refused += refused;
  refusals_unlogged_ += refused;
  if (mono_ns_ < next_refusal_log_ns_) return;
  TELEMQ_LOG(kWarning,
             "client '%s': subscription refused: max-subscriptions (%u) reached (%llu refused "
             "since the last such line)",
             conn.client_id, options_.max_subscriptions,
             static_cast<unsigned long long>(refusals_unlogged_));
  refusals_unlogged_ = 0;
  next_refusal_log_ns_ = mono_ns_ + kNsPerSecond;
}

void MqttEngine::HandleSubscribe(ConnId c, Connection& conn, const mqtt::Subscribe& p) {
  Session& s = *sessions_[conn.session];
  uint32_t subscription_id = 0;
  for (uint32_t id : p.properties.subscription_ids()) subscription_id = id;

  struct RetainedFor {
    size_t first, count;
    uint8_t qos;
  };
  absl::InlinedVector<RetainedFor, 4> retained_for;
  scratch_retained_.clear();

  mqtt::Suback ack;
  ack.packet_id = p.packet_id;
  // telemq extension: the user property "replay-from" asks for the logged
  // history of the filters too (mqtt_replay.cc). A value that cannot be
  // honoured refuses the whole SUBSCRIBE, so the client knows.
  bool replay = false;
  int64_t replay_from_ns = 0;
  if (conn.version == ProtocolVersion::kV5) {
    for (const mqtt::StringPair& up : p.properties.user_properties()) {
      if (up.name != "replay-from") continue;
      replay = true;
      if (persistence_ == nullptr || !ParseReplayFrom(up.value, real_ns_, &replay_from_ns)) {
        for (size_t i = 0; i < p.subscriptions.size(); ++i) {
          ack.reason_codes.push_back(ReasonCode::kImplementationSpecificError);
        }
        if (conn.problem_info) {
          ack.properties.SetString(
              PropertyId::kReasonString,
              persistence_ == nullptr
                  ? "replay-from: this broker keeps no log"
                  : "replay-from: expected RFC 3339, Unix seconds or -<n>s/m/h/d");
        }
        TELEMQ_LOG(kWarning, "client '%s': SUBSCRIBE refused: bad replay-from '%s'", conn.client_id,
                   std::string(up.value));
        Send(c, conn, ack);
        return;
      }
    }
  }
  size_t refused = 0;
  for (const mqtt::Subscription& sub : p.subscriptions) {
    if (s.subscriptions.size() >= options_.max_subscriptions && !s.HasSubscription(sub.filter)) {
      // A client cannot grow the router and its session without bound.
      // 3.1.1 has one failure code, 0x80 (3.9.3).
      ack.reason_codes.push_back(conn.version == ProtocolVersion::kV5
                                     ? ReasonCode::kQuotaExceeded
                                     : ReasonCode::kUnspecifiedError);
      ++refused;
      continue;
    }
    const uint8_t granted = std::min<uint8_t>(static_cast<uint8_t>(sub.options.max_qos), 2);
    router::SubscriptionOptions options;
    options.qos = granted;
    options.no_local = sub.options.no_local;
    options.retain_as_published = sub.options.retain_as_published;
    options.retain_handling = static_cast<uint8_t>(sub.options.retain_handling);
    options.subscription_id = subscription_id;
    const router::SubscribeResult r = transport_->Subscribe(s.id, sub.filter, options);
    s.SetSubscription(sub.filter, options);
    ack.reason_codes.push_back(static_cast<ReasonCode>(granted));

    // Retained messages (MQTT 3.3.1.3, 5.0 3.8.3.1 Retain Handling); never
    // for shared subscriptions (5.0 4.8.2).
    mqtt::SharedSubscription shared;
    mqtt::ParseSharedSubscription(sub.filter, &shared);
    const auto handling = sub.options.retain_handling;
    const bool send =
        !shared.shared && (handling == mqtt::RetainHandling::kSendAtSubscribe ||
                           (handling == mqtt::RetainHandling::kSendAtNewSubscribe && !r.replaced));
    if (send) {
      const size_t first = scratch_retained_.size();
      retained_.Match(sub.filter, real_ns_, &scratch_retained_);
      retained_for.push_back({first, scratch_retained_.size() - first, granted});
    }
  }
  if (refused > 0) NoteRefusedSubscriptions(conn, refused);
  // A persistent session's subscriptions are durable before the SUBACK.
  if (s.logged && !LogSession(s, c)) {
    ++stats_.log_refused;
    Abort(c, ReasonCode::kUnspecifiedError, "the log failed: a subscription cannot be stored");
    return;
  }
  Send(c, conn, ack);
  TELEMQ_LOG(kDebug, "client '%s' subscribed to %zu filter(s)", conn.client_id,
             p.subscriptions.size());

  // After the SUBACK, so the client knows its subscription when they arrive.
  for (const RetainedFor& rf : retained_for) {
    for (size_t i = rf.first; i < rf.first + rf.count; ++i) {
      Outbound out;
      out.message = scratch_retained_[i];
      out.qos = std::min(rf.qos, out.message->qos());
      out.retain = true;
      if (subscription_id != 0) out.subscription_ids.push_back(subscription_id);
      Enqueue(s, std::move(out));
    }
  }
  scratch_retained_.clear();
  if (replay) {
    for (const mqtt::Subscription& sub : p.subscriptions) {
      mqtt::SharedSubscription shared;
      mqtt::ParseSharedSubscription(sub.filter, &shared);
      if (shared.shared) continue;  // history goes to one subscriber, not to a group
      Replay(s, std::string(sub.filter),
             std::min<uint8_t>(static_cast<uint8_t>(sub.options.max_qos), 2), replay_from_ns,
             subscription_id);
    }
  }
}

void MqttEngine::HandleUnsubscribe(ConnId c, Connection& conn, const mqtt::Unsubscribe& p) {
  Session& s = *sessions_[conn.session];
  mqtt::Unsuback ack;
  ack.packet_id = p.packet_id;
  bool changed = false;
  for (std::string_view filter : p.filters) {
    const bool found = s.RemoveSubscription(filter);
    if (found) transport_->Unsubscribe(s.id, filter);
    changed |= found;
    ack.reason_codes.push_back(found ? ReasonCode::kSuccess : ReasonCode::kNoSubscriptionExisted);
  }
  if (changed && s.logged && !LogSession(s, c)) {
    ++stats_.log_refused;
    Abort(c, ReasonCode::kUnspecifiedError, "the log failed: an unsubscription cannot be stored");
    return;
  }
  Send(c, conn, ack);
}

}  // namespace telemq::session
