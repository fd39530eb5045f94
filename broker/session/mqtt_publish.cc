// Inbound PUBLISH flows: accepting a client's PUBLISH (QoS 0, 1, 2) and the
// acknowledgements of both directions (PUBACK, PUBREC, PUBREL, PUBCOMP).
// Delivery to sessions is in mqtt_deliver.cc.
#include "absl/container/inlined_vector.h"
#include "broker/base/log.h"
#include "broker/session/engine_internal.h"
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

}  // namespace telemq::session
