// Delivering routed messages to sessions: the in-flight window, queue limits
// (QoS 0 dropped and counted, a persistent backlog continued in the log),
// redelivery with DUP after a reconnect, and the PUBLISH encoding per
// connection (5.0 topic aliases, subscription identifiers, expiry).
#include <algorithm>
#include <cstdint>

#include "broker/base/log.h"
#include "broker/session/engine_internal.h"
#include "protocol/mqtt/encoder.h"
#include "protocol/mqtt/property_codec.h"

namespace telemq::session {

using mqtt::PropertyId;
using mqtt::ProtocolVersion;

void MqttEngine::Deliver(const MessageRef& message, const router::MatchResult& matches) {
  for (const router::Delivery& d : matches.deliveries()) {
    Session* s = d.session < sessions_.size() ? sessions_[d.session].get() : nullptr;
    if (s == nullptr) continue;
    if (!s->replays.empty() && message->logged() && AlreadyReplayed(*s, *message)) continue;
    Outbound out;
    out.message = message;
    out.qos = std::min(d.qos, message->qos());
    out.retain = d.retain_as_published && message->retain();
    out.tracked = s->logged && message->logged();
    out.shared = d.shared;
    for (uint32_t id : matches.subscription_ids(d)) out.subscription_ids.push_back(id);
    Enqueue(*s, std::move(out));
  }
}

void MqttEngine::Enqueue(Session& s, Outbound out) {
  if (out.tracked) {
    s.NoteRouted(*out.message);
    MarkConsumedDirty(s);
  }
  if (out.qos == 0) {
    // QoS 0 is never queued: offline sessions miss it, and a client that
    // does not read fast enough loses it once its output passes the limit.
    if (s.conn == kNoConn) return;
    if (transport_->OutputBytes(s.conn) > options_.max_output_bytes) {
      ++stats_.qos0_dropped;
      ++s.dropped_messages;
      return;
    }
    SendPublish(s, out, 0, false);
    return;
  }
  // A tracked message (not a shared-group pick, which the log cannot
  // attribute to one member) can stay in the log: while the session's
  // backlog is spilled, new ones join it there, behind the older ones.
  const bool spillable = out.tracked && !out.shared;
  if (spillable && s.spilled()) {
    s.NoteSpilled(*out.message);
    return;
  }
  const Connection* conn = s.conn == kNoConn ? nullptr : conns_[s.conn].get();
  if (conn != nullptr && s.queue.empty() &&
      s.inflight.size() < InflightLimit(options_.max_inflight, conn->client_receive_max)) {
    const uint16_t id = s.AllocatePacketId();
    const bool logged = LogQos2Out(s, out, id);
    if (SendPublish(s, out, id, false)) {
      if (out.tracked) s.AddPending(*out.message);
      const InFlight::State state =
          out.qos == 1 ? InFlight::State::kAwaitPuback : InFlight::State::kAwaitPubrec;
      s.inflight.push_back(
          InFlight{.out = std::move(out), .packet_id = id, .state = state, .logged = logged});
    } else if (logged) {
      persistence_->AppendQos2OutComplete(s.client_id, id);
    }
    return;
  }
  const size_t bytes = out.message->footprint();
  if (s.queue.size() >= options_.max_queued_messages ||
      s.queued_bytes + bytes > options_.max_queued_bytes) {
    if (spillable) {
      // The queue is full but the log has the message: it is read back as
      // the client drains (mqtt_backlog.cc). Memory stays bounded, nothing
      // is lost.
      s.NoteSpilled(*out.message);
      ++stats_.spilled_sessions;
      TELEMQ_LOG(kInfo, "session '%s': queue full (%zu messages); its backlog continues in the log",
                 s.client_id, s.queue.size());
      return;
    }
    ++stats_.queue_dropped;
    ++s.dropped_messages;
    // At most one line a second per session, however fast messages drop.
    if (mono_ns_ >= s.next_drop_log_ns) {
      TELEMQ_LOG(kWarning,
                 "session '%s': queue full (%zu messages, %llu bytes): dropped %llu QoS 1/2 "
                 "messages since the last report",
                 s.client_id, s.queue.size(), static_cast<unsigned long long>(s.queued_bytes),
                 static_cast<unsigned long long>(static_cast<uint32_t>(s.dropped_messages) -
                                                 s.dropped_reported));
      s.dropped_reported = static_cast<uint32_t>(s.dropped_messages);
      s.next_drop_log_ns = mono_ns_ + kNsPerSecond;
    }
    return;
  }
  s.queued_bytes += bytes;
  if (out.tracked) s.AddPending(*out.message);
  s.queue.push_back(std::move(out));
}

void MqttEngine::Pump(Session& s) {
  if (s.conn == kNoConn) return;
  if (s.spilled() && s.queue.size() <= options_.max_queued_messages / 2) Refill(s);
  Connection& conn = *conns_[s.conn];
  const uint32_t limit = InflightLimit(options_.max_inflight, conn.client_receive_max);
  if (conn.resend_pending != 0) {
    // In-flight messages still to be resent go first, in order, as the
    // window opens; new ones wait behind them (ordering, 4.6).
    for (InFlight& f : s.inflight) {
      if (s.inflight.size() - conn.resend_pending >= limit) break;
      if (!f.resend_pending) continue;
      ClearResendPending(&f, conn);
      SendPublish(s, f.out, f.packet_id, /*dup=*/true);
    }
    if (conn.resend_pending != 0) return;
  }
  while (!s.queue.empty() && s.inflight.size() < limit) {
    Outbound out = std::move(s.queue.front());
    s.queue.pop_front();
    s.queued_bytes -= out.message->footprint();
    const int64_t expiry = out.message->expiry_ns();
    const uint16_t id =
        expiry != 0 && expiry <= real_ns_ ? 0 : s.AllocatePacketId();  // 5.0 3.3.2.3.3: expired
    const bool logged = id != 0 && LogQos2Out(s, out, id);
    if (id == 0 || !SendPublish(s, out, id, false)) {
      if (out.tracked) {
        s.Settle(out);  // dropped: consumed all the same
        MarkConsumedDirty(s);
      }
      if (logged) persistence_->AppendQos2OutComplete(s.client_id, id);
      continue;
    }
    const uint8_t qos = out.qos;
    s.inflight.push_back(
        InFlight{.out = std::move(out),
                 .packet_id = id,
                 .state = qos == 1 ? InFlight::State::kAwaitPuback : InFlight::State::kAwaitPubrec,
                 .logged = logged});
  }
}

void MqttEngine::Resend(Session& s) {
  Connection& conn = *conns_[s.conn];
  // 5.0 4.9: the send quota starts again at the client's Receive Maximum on
  // each connection and resent PUBLISHes use it, so those beyond the window
  // are marked and resent by Pump as acknowledgements open it. PUBRELs are
  // always resent, and counted in the window like every in-flight entry.
  const uint32_t limit = InflightLimit(options_.max_inflight, conn.client_receive_max);
  uint32_t used = 0;
  for (InFlight& f : s.inflight) {
    f.resend_pending = false;
    if (f.state == InFlight::State::kAwaitPubcomp) {
      Send(s.conn, conn, mqtt::Pubrel{.packet_id = f.packet_id});
      ++used;
    } else if (used < limit) {
      SendPublish(s, f.out, f.packet_id, /*dup=*/true);
      ++used;
    } else {
      f.resend_pending = true;
      ++conn.resend_pending;
    }
  }
}

void MqttEngine::OnOutputDrained(ConnId c) {
  if (c >= conns_.size() || conns_[c] == nullptr) return;
  const SessionId id = conns_[c]->session;
  if (id != router::kNoSession) Pump(*sessions_[id]);
}

bool MqttEngine::LogQos2Out(Session& s, const Outbound& out, uint16_t packet_id) {
  if (out.qos != 2 || !out.tracked || !s.logged || persistence_ == nullptr) return false;
  const Message& m = *out.message;
  absl::StatusOr<uint64_t> offset = persistence_->AppendQos2Out(
      s.client_id,
      {.packet_id = packet_id, .partition = m.log_partition(), .offset = m.log_offset()});
  // On a failed log the message still goes out: the log keeps nothing more
  // from here on, so no restart could resend it anyway.
  if (!offset.ok()) return false;
  transport_->HoldOutput(s.conn, *offset);
  return true;
}

bool MqttEngine::SendPublish(Session& s, const Outbound& out, uint16_t packet_id, bool dup) {
  Connection& conn = *conns_[s.conn];
  const Message& m = *out.message;
  mqtt::Publish p;
  p.topic = m.topic();
  p.payload = m.payload();
  p.qos = static_cast<mqtt::QoS>(out.qos);
  p.retain = out.retain;
  p.packet_id = packet_id;
  p.dup = dup;
  if (conn.version == ProtocolVersion::kV5) {
    if (!m.properties().empty()) {
      mqtt::wire::Reader r(m.properties().data(), m.properties().size());
      mqtt::property_codec::Decode(r, mqtt::PacketBit(mqtt::PacketType::kPublish), &p.properties);
    }
    if (m.expiry_ns() != 0) {
      const int64_t left = m.expiry_ns() - real_ns_;
      // Rounded up: a message is not reported expired before its time.
      // Capped: a real-time clock set back (or a damaged record) could make
      // the time left exceed what the property holds.
      const int64_t seconds =
          left <= 0 ? 0 : left / kNsPerSecond + (left % kNsPerSecond != 0 ? 1 : 0);
      p.properties.SetInt(PropertyId::kMessageExpiryInterval,
                          static_cast<uint32_t>(std::min<int64_t>(seconds, UINT32_MAX)));
    }
    p.properties.set_subscription_ids({out.subscription_ids.data(), out.subscription_ids.size()});
  }
  // 5.0 server-to-client Topic Alias (3.3.2.3.4), only if the client allows
  // some: a known topic goes as its alias and an empty topic name; a new one
  // takes the next free alias, recorded once the packet is committed.
  uint16_t new_alias = 0;
  if (conn.out_alias_max != 0) {
    const absl::string_view topic(p.topic.data(), p.topic.size());
    auto& out_aliases = conn.aliases_in_use().out;
    if (auto it = out_aliases.find(topic); it != out_aliases.end()) {
      p.properties.SetInt(PropertyId::kTopicAlias, it->second);
      p.topic = {};
    } else if (out_aliases.size() < conn.out_alias_max) {
      new_alias = static_cast<uint16_t>(out_aliases.size() + 1);
      p.properties.SetInt(PropertyId::kTopicAlias, new_alias);
    }
  }
  const size_t size = mqtt::EncodedSize(p, conn.version);
  if (size == 0 || size > conn.client_max_packet) {
    // MQTT 5 3.1.2.11.4: a packet over the client's maximum is discarded.
    ++stats_.oversize_dropped;
    ++s.dropped_messages;
    return false;
  }
  std::span<uint8_t> buf = transport_->ReserveOutput(s.conn, size);
  const size_t written = mqtt::Encode(p, conn.version, buf);
  transport_->CommitOutput(s.conn, written);
  if (new_alias != 0) conn.aliases->out.emplace(std::string(m.topic()), new_alias);
  ++stats_.messages_sent;
  return true;
}

}  // namespace telemq::session
