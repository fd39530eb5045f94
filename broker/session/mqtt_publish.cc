// PUBLISH flows in both directions: accepting a client's PUBLISH (QoS 0, 1,
// 2 with its acknowledgements), and delivering routed messages to sessions
// (in-flight window, queue limits, redelivery with DUP after reconnect).
#include "absl/container/inlined_vector.h"
#include "broker/base/log.h"
#include "broker/session/engine_internal.h"
#include "protocol/mqtt/encoder.h"
#include "protocol/mqtt/property_codec.h"

namespace telemq::session {

using mqtt::PropertyId;
using mqtt::ProtocolVersion;
using mqtt::ReasonCode;

MessageRef MqttEngine::MakeMessage(const mqtt::Publish& p, SessionId origin, const Connection& conn,
                                   bool log, uint16_t packet_id) {
  // 5.0 properties that travel with the message, encoded once here and
  // decoded per 5.0 subscriber. The alias is the publisher's, the expiry is
  // rewritten per delivery, the will delay belongs to the will.
  absl::InlinedVector<uint8_t, 128> block;
  int64_t expiry_ns = 0;
  if (conn.version == ProtocolVersion::kV5 && !p.properties.empty()) {
    mqtt::Properties forward = p.properties;
    forward.Clear(PropertyId::kTopicAlias);
    forward.Clear(PropertyId::kMessageExpiryInterval);
    forward.Clear(PropertyId::kWillDelayInterval);
    if (p.properties.Has(PropertyId::kMessageExpiryInterval)) {
      expiry_ns = real_ns_ +
                  int64_t{p.properties.GetInt(PropertyId::kMessageExpiryInterval)} * kNsPerSecond;
    }
    if (!forward.empty()) {
      const size_t content = mqtt::property_codec::ContentSize(forward);
      block.resize(mqtt::property_codec::BlockSize(content));
      mqtt::wire::Writer w(block.data());
      mqtt::property_codec::Write(forward, content, w);
    }
  }
  MessageInit init{.topic = p.topic,
                   .payload = p.payload,
                   .properties = {block.data(), block.size()},
                   .qos = static_cast<uint8_t>(p.qos),
                   .retain = p.retain,
                   .origin_session = origin,
                   .origin_shard = static_cast<int32_t>(transport_->shard_index()),
                   .arrival_ns = real_ns_,
                   .expiry_ns = expiry_ns};
  if (log) {
    absl::StatusOr<uint64_t> offset = persistence_->AppendMessage(init, conn.client_id, packet_id);
    if (!offset.ok()) {
      TELEMQ_LOG(kError, "PUBLISH of '%s' to '%s' refused: %s", conn.client_id,
                 std::string(p.topic), std::string(offset.status().message()));
      return MessageRef();
    }
    init.log_partition = persistence_->partition();
    init.log_offset = *offset;
  }
  return Message::Create(init);
}

namespace {

// Clears `f`'s resend_pending mark and the connection's count of them.
template <typename Conn>
void ClearResendPending(InFlight* f, Conn& conn) {
  if (f == nullptr || !f->resend_pending) return;
  f->resend_pending = false;
  --conn.resend_pending;
}

}  // namespace

bool MqttEngine::CompleteInFlight(Connection& conn, Session& s, uint16_t packet_id) {
  InFlight* f = s.FindInFlight(packet_id);
  if (f == nullptr) return false;
  ClearResendPending(f, conn);
  if (f->out.tracked) {
    s.Settle(f->out);
    MarkConsumedDirty(s);
  }
  if (f->logged && persistence_ != nullptr)
    persistence_->AppendQos2OutComplete(s.client_id, packet_id);
  s.EraseInFlight(packet_id);
  return true;
}

bool MqttEngine::HandlePublish(ConnId c, Connection& conn, mqtt::Publish& p) {
  Session& s = *sessions_[conn.session];
  if (conn.version == ProtocolVersion::kV5) {
    if (p.properties.Has(PropertyId::kTopicAlias)) {
      const uint32_t alias = p.properties.GetInt(PropertyId::kTopicAlias);
      if (alias == 0 || alias > options_.topic_alias_max) {
        ProtocolClose(c, conn, ReasonCode::kTopicAliasInvalid, "topic alias above the maximum");
        return false;
      }
      std::vector<std::string>& in = conn.aliases_in_use().in;
      if (in.size() <= alias) in.resize(size_t{options_.topic_alias_max} + 1);
      if (!p.topic.empty()) {
        in[alias].assign(p.topic);
      } else if (in[alias].empty()) {
        ProtocolClose(c, conn, ReasonCode::kProtocolError, "unknown topic alias with empty topic");
        return false;
      } else {
        p.topic = in[alias];
      }
    }
    if (mqtt::CheckPayloadFormat(p) != mqtt::DecodeError::kNone) {
      ProtocolClose(c, conn, ReasonCode::kPayloadFormatInvalid,
                    "payload format indicator 1 with a payload that is not UTF-8");
      return false;
    }
  }
  if (p.qos == mqtt::QoS::kExactlyOnce && s.inbound_qos2.contains(p.packet_id)) {
    // A resend of a QoS 2 PUBLISH not yet released: already routed once.
    Send(c, conn, mqtt::Pubrec{.packet_id = p.packet_id});
    return true;
  }
  if (p.qos == mqtt::QoS::kExactlyOnce && conn.version == ProtocolVersion::kV5 &&
      s.inbound_qos2.size() >= options_.receive_maximum) {
    // 5.0 3.3.4 flow control, counted on the QoS 2 PUBLISHes awaiting
    // PUBREL. QoS 1 ones whose PUBACK waits for the log are not counted:
    // enforcing on them would only disconnect a client for our disk.
    ProtocolClose(c, conn, ReasonCode::kReceiveMaximumExceeded,
                  "more unacknowledged QoS 2 PUBLISHes than Receive Maximum");
    return false;
  }
  ++stats_.messages_received;
  const bool log = persistence_ != nullptr &&
                   persistence_->ShouldLog(p.topic, static_cast<uint8_t>(p.qos), p.retain);
  // A QoS 2 packet id matters after a restart only to a session that survives it.
  const uint16_t logged_id = p.qos == mqtt::QoS::kExactlyOnce && s.logged ? p.packet_id : 0;
  MessageRef message = MakeMessage(p, s.id, conn, log, logged_id);
  if (!message) {
    // The log has failed: nothing may be acknowledged as stored.
    ++stats_.log_refused;
    if (p.qos == mqtt::QoS::kAtMostOnce) return true;
    if (conn.version == ProtocolVersion::kV5) {
      if (p.qos == mqtt::QoS::kAtLeastOnce) {
        Send(c, conn,
             mqtt::Puback{.packet_id = p.packet_id, .reason_code = ReasonCode::kUnspecifiedError});
      } else {
        Send(c, conn,
             mqtt::Pubrec{.packet_id = p.packet_id, .reason_code = ReasonCode::kUnspecifiedError});
      }
      return true;
    }
    Abort(c, ReasonCode::kUnspecifiedError, "the log failed: a QoS 1/2 PUBLISH cannot be stored");
    return false;
  }
  // The acknowledgement below leaves only once the message is durable.
  if (message->logged() && p.qos != mqtt::QoS::kAtMostOnce) {
    transport_->HoldOutput(c, message->log_offset());
  }
  if (p.retain) transport_->RouteRetained(message);
  transport_->Route(message, s.id);
  // Route may deliver to this very connection (it subscribed to its topic),
  // which never closes it, so `conn` is still valid here.
  if (p.qos == mqtt::QoS::kAtLeastOnce) {
    Send(c, conn, mqtt::Puback{.packet_id = p.packet_id});
  } else if (p.qos == mqtt::QoS::kExactlyOnce) {
    s.inbound_qos2.insert(p.packet_id);
    Send(c, conn, mqtt::Pubrec{.packet_id = p.packet_id});
  }
  return true;
}

void MqttEngine::HandlePuback(Connection& conn, uint16_t packet_id) {
  Session& s = *sessions_[conn.session];
  if (CompleteInFlight(conn, s, packet_id)) Pump(s);
}

void MqttEngine::HandlePubrec(ConnId c, Connection& conn, const mqtt::Pubrec& p) {
  Session& s = *sessions_[conn.session];
  InFlight* f = s.FindInFlight(p.packet_id);
  mqtt::Pubrel rel{.packet_id = p.packet_id};
  if (f == nullptr) {
    rel.reason_code = ReasonCode::kPacketIdentifierNotFound;
  } else if (static_cast<uint8_t>(p.reason_code) >= 0x80) {
    // 5.0: the receiver refused the message; the flow ends here.
    CompleteInFlight(conn, s, p.packet_id);
    Pump(s);
    return;
  } else {
    ClearResendPending(f, conn);
    f->state = InFlight::State::kAwaitPubcomp;
    // The client has the message: it is consumed, only PUBREL/PUBCOMP remain.
    if (f->out.tracked) {
      s.Settle(f->out);
      MarkConsumedDirty(s);
    }
    f->out.message = MessageRef();  // only the packet id is needed from now on
    if (f->logged && persistence_ != nullptr) {
      // After a restart, the PUBREL is what is resent, not the message.
      absl::StatusOr<uint64_t> offset =
          persistence_->AppendQos2Out(s.client_id, {.packet_id = p.packet_id, .released = true});
      if (offset.ok()) {
        transport_->HoldOutput(c, *offset);
      } else {
        f->logged = false;  // the log failed: nothing of it is recovered anyway
      }
    }
  }
  Send(c, conn, rel);
}

void MqttEngine::HandlePubrel(ConnId c, Connection& conn, const mqtt::Pubrel& p) {
  Session& s = *sessions_[conn.session];
  mqtt::Pubcomp comp{.packet_id = p.packet_id};
  if (s.inbound_qos2.erase(p.packet_id) == 0) {
    comp.reason_code = ReasonCode::kPacketIdentifierNotFound;
  } else if (s.logged && persistence_ != nullptr) {
    absl::StatusOr<uint64_t> offset = persistence_->AppendQos2Release(s.client_id, p.packet_id);
    if (!offset.ok()) {
      Abort(c, ReasonCode::kUnspecifiedError, "the log failed: a PUBREL cannot be recorded");
      return;
    }
    transport_->HoldOutput(c, *offset);
  }
  Send(c, conn, comp);
}

void MqttEngine::HandlePubcomp(Connection& conn, uint16_t packet_id) {
  Session& s = *sessions_[conn.session];
  if (CompleteInFlight(conn, s, packet_id)) Pump(s);
}

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
                 static_cast<unsigned long long>(s.dropped_messages - s.dropped_reported));
      s.dropped_reported = s.dropped_messages;
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
      const int64_t seconds = left <= 0 ? 0 : (left + kNsPerSecond - 1) / kNsPerSecond;
      p.properties.SetInt(PropertyId::kMessageExpiryInterval, static_cast<uint32_t>(seconds));
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
