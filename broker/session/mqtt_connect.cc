// CONNECT (client id rules, session take-over and resumption, the CONNACK
// and its 5.0 properties) and DISCONNECT.
#include "absl/strings/str_cat.h"
#include "broker/base/log.h"
#include "broker/session/engine_internal.h"
#include "protocol/mqtt/encoder.h"

namespace telemq::session {

using mqtt::PropertyId;
using mqtt::ProtocolVersion;
using mqtt::ReasonCode;

std::string MqttEngine::AssignClientId() {
  // An id this shard owns, so the connection needs no hand-off.
  for (;;) {
    std::string id = absl::StrCat("telemq-", transport_->shard_index(), "-", ++assigned_ids_, "-",
                                  static_cast<uint64_t>(real_ns_) % 1000003);
    if (transport_->OwnerShard(id) == transport_->shard_index() && FindSession(id) == nullptr) {
      return id;
    }
  }
}

bool MqttEngine::HandleConnect(ConnId c, Connection& conn, const mqtt::Connect& p,
                               std::span<const uint8_t> from_connect) {
  conn.version = p.version;
  const bool v5 = p.version == ProtocolVersion::kV5;
  auto refuse = [&](ReasonCode reason, std::string_view why) {
    mqtt::Connack ack;
    ack.reason_code = reason;
    Send(c, conn, ack);
    TELEMQ_LOG(kWarning, "refusing CONNECT of '%s': %s", std::string(p.client_id),
               std::string(why));
    conns_[c].reset();
    --stats_.connections;
    transport_->CloseConnection(c, Closer::kBroker);
    return false;
  };

  if (v5 && p.properties.Has(PropertyId::kAuthenticationMethod)) {
    return refuse(ReasonCode::kBadAuthenticationMethod, "enhanced authentication is not supported");
  }
  // 5.0 3.1.3.2.3: checked as a PUBLISH's payload format is (mqtt_publish.cc).
  if (v5 && p.will && mqtt::CheckWillPayloadFormat(*p.will) != mqtt::DecodeError::kNone) {
    return refuse(ReasonCode::kPayloadFormatInvalid,
                  "will payload format indicator 1 with a payload that is not UTF-8");
  }
  if (!v5 && p.keep_alive > options_.max_keepalive) {
    // 3.1.1 cannot tell the client another keep-alive (as Mosquitto does).
    return refuse(ReasonCode::kClientIdentifierNotValid, "keep-alive above max-keepalive");
  }
  std::string client_id(p.client_id);
  bool assigned = false;
  if (client_id.empty()) {
    if (!v5 && !p.clean_start) {
      return refuse(ReasonCode::kClientIdentifierNotValid,
                    "zero-length client id needs clean session (MQTT-3.1.3-7)");
    }
    client_id = AssignClientId();
    assigned = true;
  } else if (const uint32_t owner = transport_->OwnerShard(client_id);
             owner != transport_->shard_index()) {
    conns_[c].reset();
    --stats_.connections;
    transport_->HandOff(c, owner, from_connect);
    return false;
  }

  // Take-over: the id is connected elsewhere on this shard.
  Session* existing = FindSession(client_id);
  if (existing != nullptr && existing->conn != kNoConn) {
    const ConnId old = existing->conn;
    Connection& old_conn = *conns_[old];
    if (old_conn.version == ProtocolVersion::kV5) {
      mqtt::Disconnect d;
      d.reason_code = ReasonCode::kSessionTakenOver;
      Send(old, old_conn, d);
    }
    TELEMQ_LOG(kInfo, "client '%s' taken over by a new connection", client_id);
    // MQTT 5 3.1.4: the old will is sent unless the session continues and
    // the will is delayed. A session that does not outlive its connection
    // (3.1.1 Clean Session 1, 5.0 expiry 0) ends with the connection taken
    // over: its state is never reused (3.1.1 MQTT-3.1.2-6, 5.0 3.1.2.11).
    const bool continues = !p.clean_start && existing->persistent();
    const bool keep_will = continues && existing->will && existing->will->delay_s > 0;
    if (!keep_will) PublishWill(*existing);
    existing->conn = kNoConn;
    conns_[old].reset();
    --stats_.connections;
    transport_->CloseConnection(old, Closer::kBroker);
    if (!existing->persistent()) {
      EndSession(*existing);
      existing = nullptr;
    }
  }
  if (existing != nullptr && p.clean_start) {
    if (existing->will_due_ns != 0) PublishWill(*existing);
    EndSession(*existing);
    existing = nullptr;
  }
  const bool session_present = existing != nullptr;
  Session& s = session_present ? *existing : CreateSession(client_id);
  const uint32_t old_expiry = s.expiry_s;
  const ProtocolVersion old_version = s.version;
  s.will_due_ns = 0;
  s.will.reset();
  s.conn = c;
  s.version = p.version;
  if (v5) {
    const uint32_t asked = p.properties.GetInt(PropertyId::kSessionExpiryInterval);
    s.expiry_s = std::min(asked, options_.session_expiry_max);
    if (p.properties.Has(PropertyId::kReceiveMaximum)) {
      conn.client_receive_max =
          static_cast<uint16_t>(p.properties.GetInt(PropertyId::kReceiveMaximum));
    }
    if (p.properties.Has(PropertyId::kMaximumPacketSize)) {
      conn.client_max_packet = p.properties.GetInt(PropertyId::kMaximumPacketSize);
    }
    conn.out_alias_max = static_cast<uint16_t>(std::min<uint32_t>(
        p.properties.GetInt(PropertyId::kTopicAliasMaximum), options_.topic_alias_max));
    if (p.properties.Has(PropertyId::kRequestProblemInformation)) {
      conn.problem_info = p.properties.GetInt(PropertyId::kRequestProblemInformation) != 0;
    }
  } else {
    s.expiry_s = p.clean_start ? 0 : UINT32_MAX;
  }
  if (p.will) {
    mqtt::Publish will;
    will.qos = p.will->qos;
    will.retain = p.will->retain;
    will.topic = p.will->topic;
    will.payload = p.will->payload;
    will.properties = p.will->properties;
    s.will = Will{MakeMessage(will, s.id, conn),
                  v5 ? p.will->properties.GetInt(PropertyId::kWillDelayInterval) : 0};
  }
  // A persistent session's state is durable before its CONNACK: a client
  // told its session exists must find it after a crash.
  const bool state_changed = !s.logged || old_expiry != s.expiry_s || old_version != s.version;
  if ((s.persistent() || s.logged) && state_changed && !LogSession(s, c)) {
    s.conn = kNoConn;
    EndSession(s);
    ++stats_.log_refused;
    return refuse(ReasonCode::kServerUnavailable, "the log cannot record the session");
  }
  conn.session = s.id;
  conn.connected = true;
  conn.client_id = client_id;
  // 5.0 (3.2.2.3.14): a keep-alive above the maximum is replaced by the
  // Server Keep Alive sent in CONNACK, and that is the value enforced.
  const bool server_keep_alive = v5 && p.keep_alive > options_.max_keepalive;
  conn.keep_alive_s = server_keep_alive ? options_.max_keepalive : p.keep_alive;
  if (conn.keep_alive_s != 0) {
    transport_->WakeAt(mono_ns_ + int64_t{conn.keep_alive_s} * kNsPerSecond * 3 / 2);
  }

  mqtt::Connack ack;
  ack.session_present = session_present;
  if (v5) {
    if (assigned) ack.properties.SetString(PropertyId::kAssignedClientIdentifier, client_id);
    if (server_keep_alive) ack.properties.SetInt(PropertyId::kServerKeepAlive, conn.keep_alive_s);
    if (s.expiry_s != p.properties.GetInt(PropertyId::kSessionExpiryInterval)) {
      ack.properties.SetInt(PropertyId::kSessionExpiryInterval, s.expiry_s);
    }
    ack.properties.SetInt(PropertyId::kTopicAliasMaximum, options_.topic_alias_max);
    if (options_.receive_maximum < 65535) {
      ack.properties.SetInt(PropertyId::kReceiveMaximum, options_.receive_maximum);
    }
    ack.properties.SetInt(PropertyId::kMaximumPacketSize, options_.max_packet_size);
  }
  Send(c, conn, ack);
  TELEMQ_LOG(kDebug, "client '%s' connected (MQTT %s, clean=%d, keep-alive %u s, session %s)",
             client_id, v5 ? "5.0" : "3.1.1", p.clean_start, conn.keep_alive_s,
             session_present ? "resumed" : "new");
  if (session_present) Resend(s);
  Pump(s);
  return true;
}

bool MqttEngine::HandleDisconnect(ConnId c, Connection& conn, const mqtt::Disconnect& p) {
  Session* s = conn.session == router::kNoSession ? nullptr : sessions_[conn.session].get();
  if (s != nullptr) {
    if (conn.version == ProtocolVersion::kV5 &&
        p.properties.Has(PropertyId::kSessionExpiryInterval)) {
      const uint32_t asked = p.properties.GetInt(PropertyId::kSessionExpiryInterval);
      if (s->expiry_s == 0 && asked != 0) {
        ProtocolClose(c, conn, ReasonCode::kProtocolError,
                      "DISCONNECT sets a session expiry on a session created with 0");
        return false;
      }
      const uint32_t expiry = std::min(asked, options_.session_expiry_max);
      if (expiry != s->expiry_s) {
        s->expiry_s = expiry;
        // 0 ends the session at Detach, which logs the end instead.
        if (s->persistent()) LogSession(*s, c);
      }
    }
    // Only a Normal disconnection (0x00, and every 3.1.1 DISCONNECT)
    // discards the will (5.0 3.14.4); 0x04 asks for it, and any other reason
    // is the client reporting an error: the will goes out (3.1.2.5).
    if (p.reason_code == ReasonCode::kNormalDisconnection) s->will.reset();
  }
  Detach(c);
  transport_->CloseConnection(c, Closer::kClient);
  return false;
}

}  // namespace telemq::session
