// Connection life cycle: bytes in, packets dispatched, closes, keep-alive,
// wills and session expiry. CONNECT and DISCONNECT: mqtt_connect.cc; PUBLISH
// and its acknowledgements: mqtt_publish.cc; delivery to sessions:
// mqtt_deliver.cc; SUBSCRIBE: mqtt_subscribe.cc.

#include "absl/strings/str_cat.h"
#include "broker/base/log.h"
#include "broker/session/engine_internal.h"
#include "protocol/mqtt/encoder.h"

namespace telemq::session {

using mqtt::ProtocolVersion;
using mqtt::ReasonCode;

namespace {

// A socket that sends no CONNECT within this time is closed.
constexpr int64_t kConnectTimeoutNs = 10 * kNsPerSecond;

// The protocol level byte of a CONNECT whose decoding failed, so the error
// can be answered in the client's own version. 0 when not found.
uint8_t PeekConnectLevel(std::span<const uint8_t> raw) {
  if (raw.empty() || (raw[0] >> 4) != 1) return 0;
  size_t i = 1;
  while (i < raw.size() && i < 5 && (raw[i] & 0x80)) ++i;
  const size_t level_at = i + 1 + 6;  // length byte(s) done, then 00 04 M Q T T
  return level_at < raw.size() ? raw[level_at] : 0;
}

}  // namespace

MqttEngine::MqttEngine(const EngineOptions& options, Transport* transport, Persistence* persistence)
    : options_(options), transport_(transport), persistence_(persistence) {}

MqttEngine::~MqttEngine() = default;

bool MqttEngine::Send(ConnId c, const Connection& conn, const mqtt::Packet& packet) {
  const size_t size = mqtt::EncodedSize(packet, conn.version);
  if (size == 0 || size > conn.client_max_packet) return false;
  std::span<uint8_t> out = transport_->ReserveOutput(c, size);
  const size_t written = mqtt::Encode(packet, conn.version, out);
  if (written == 0) return false;
  transport_->CommitOutput(c, written);
  return true;
}

void MqttEngine::OnConnectionOpened(ConnId c) {
  if (conns_.size() <= c) conns_.resize(size_t{c} + 1);
  conns_[c] = std::make_unique<Connection>(options_.max_packet_size);
  conns_[c]->last_rx_ns = mono_ns_;
  ++stats_.connections;
  transport_->WakeAt(mono_ns_ + kConnectTimeoutNs);
}

size_t MqttEngine::OnBytes(ConnId c, std::span<const uint8_t> data) {
  if (c >= conns_.size() || conns_[c] == nullptr) return data.size();
  Connection& conn = *conns_[c];
  size_t used = 0;
  while (used < data.size()) {
    const std::span<const uint8_t> rest = data.subspan(used);
    mqtt::Packet packet;
    const mqtt::DecodeResult r = conn.decoder.Decode(rest, &packet);
    if (r.status == mqtt::DecodeStatus::kNeedMore) break;
    if (r.status == mqtt::DecodeStatus::kError) {
      const mqtt::DecodeErrorInfo& info = mqtt::GetDecodeErrorInfo(r.error);
      if (!conn.connected) {
        ++stats_.protocol_errors;
        // Errors in (or before) CONNECT: answer with a CONNACK where the
        // spec asks for one, in the client's own protocol version.
        const uint8_t level = PeekConnectLevel(rest);
        const bool v5 = level == 5;
        conn.version = v5 ? ProtocolVersion::kV5 : ProtocolVersion::kV311;
        const bool unacceptable = r.error == mqtt::DecodeError::kUnsupportedProtocolVersion;
        if (v5 || (unacceptable && info.v311 == mqtt::V311Reaction::kConnackUnacceptableProtocol)) {
          mqtt::Connack ack;
          ack.reason_code = unacceptable ? ReasonCode::kUnsupportedProtocolVersion : info.reason;
          Send(c, conn, ack);
        }
        TELEMQ_LOG(kWarning, "closing connection %u before CONNACK: %s (reason 0x%02x)", c,
                   std::string(info.name), static_cast<int>(info.reason));
        conns_[c].reset();
        --stats_.connections;
        transport_->CloseConnection(c, Closer::kBroker);
      } else if (r.error == mqtt::DecodeError::kSecondConnect) {
        // Closed without a DISCONNECT, which 5.0 (4.13.1) only recommends:
        // a client that sends CONNECT twice has lost track of its
        // connection, and may be reading it from two threads at once, as
        // the Eclipse Paho interoperability client does here; they split
        // the DISCONNECT's bytes between them and wait for the rest forever.
        // Mosquitto and the Paho test broker close without one too.
        ProtocolClose(c, conn, info.reason, info.name, /*send_disconnect=*/false);
      } else {
        ProtocolClose(c, conn, info.reason, info.name);
      }
      return data.size();
    }
    conn.last_rx_ns = mono_ns_;
    if (!Handle(c, conn, packet, rest.first(r.consumed), rest)) return data.size();
    used += r.consumed;
  }
  return used;
}

bool MqttEngine::Handle(ConnId c, Connection& conn, mqtt::Packet& packet,
                        std::span<const uint8_t> /*raw*/, std::span<const uint8_t> rest) {
  switch (mqtt::TypeOf(packet)) {
    case mqtt::PacketType::kConnect:
      return HandleConnect(c, conn, std::get<mqtt::Connect>(packet), rest);
    case mqtt::PacketType::kPublish:
      return HandlePublish(c, conn, std::get<mqtt::Publish>(packet));
    case mqtt::PacketType::kPuback:
      HandlePuback(conn, std::get<mqtt::Puback>(packet).packet_id);
      return true;
    case mqtt::PacketType::kPubrec:
      HandlePubrec(c, conn, std::get<mqtt::Pubrec>(packet));
      return true;
    case mqtt::PacketType::kPubrel:
      HandlePubrel(c, conn, std::get<mqtt::Pubrel>(packet));
      return conns_[c] != nullptr;
    case mqtt::PacketType::kPubcomp:
      HandlePubcomp(conn, std::get<mqtt::Pubcomp>(packet).packet_id);
      return true;
    case mqtt::PacketType::kSubscribe:
      HandleSubscribe(c, conn, std::get<mqtt::Subscribe>(packet));
      return conns_[c] != nullptr;
    case mqtt::PacketType::kUnsubscribe:
      HandleUnsubscribe(c, conn, std::get<mqtt::Unsubscribe>(packet));
      return conns_[c] != nullptr;
    case mqtt::PacketType::kPingreq:
      Send(c, conn, mqtt::Pingresp{});
      return true;
    case mqtt::PacketType::kDisconnect:
      return HandleDisconnect(c, conn, std::get<mqtt::Disconnect>(packet));
    case mqtt::PacketType::kAuth:
      // Enhanced authentication is not offered (no Authentication Method is
      // ever accepted in CONNECT), so any AUTH is a protocol error.
      ProtocolClose(c, conn, ReasonCode::kProtocolError, "AUTH without an authentication method");
      return false;
    default:
      // The decoder rejects server-bound packets of other types.
      ProtocolClose(c, conn, ReasonCode::kProtocolError, "unexpected packet type");
      return false;
  }
}

void MqttEngine::ProtocolClose(ConnId c, Connection& conn, ReasonCode reason, std::string_view why,
                               bool send_disconnect) {
  ++stats_.protocol_errors;
  if (send_disconnect && conn.version == ProtocolVersion::kV5 && conn.connected) {
    mqtt::Disconnect d;
    d.reason_code = reason;
    Send(c, conn, d);
  }
  TELEMQ_LOG(kWarning, "closing connection of '%s': %s (reason 0x%02x)", conn.client_id,
             std::string(why), static_cast<int>(reason));
  Detach(c);
  transport_->CloseConnection(c, Closer::kBroker);
}

void MqttEngine::OnConnectionClosed(ConnId c) {
  if (c >= conns_.size() || conns_[c] == nullptr) return;
  TELEMQ_LOG(kDebug, "connection of '%s' closed by the peer", conns_[c]->client_id);
  Detach(c);
}

void MqttEngine::Detach(ConnId c) {
  std::unique_ptr<Connection> conn = std::move(conns_[c]);
  --stats_.connections;
  if (conn->session == router::kNoSession) return;
  Session& s = *sessions_[conn->session];
  s.conn = kNoConn;
  s.disconnected_ns = mono_ns_;
  // A will still held here is due: the connection ended abnormally, or a 5.0
  // DISCONNECT asked for it (0x04); a normal DISCONNECT removed it already.
  if (s.will) {
    if (s.will->delay_s == 0 || !s.persistent()) {
      PublishWill(s);
    } else {
      s.will_due_ns = mono_ns_ + int64_t{s.will->delay_s} * kNsPerSecond;
      transport_->WakeAt(s.will_due_ns);
    }
  }
  if (!s.persistent()) {
    EndSession(s);
  } else if (s.expiry_s != UINT32_MAX) {
    transport_->WakeAt(mono_ns_ + int64_t{s.expiry_s} * kNsPerSecond);
  }
}

void MqttEngine::PublishWill(Session& s) {
  if (!s.will) return;
  const MessageRef built = std::move(s.will->message);
  s.will.reset();
  s.will_due_ns = 0;
  // Built at CONNECT, published now: its arrival time (which orders retained
  // updates) is now, and its Message Expiry Interval runs from now (5.0
  // 3.1.3.2.4), so the message is stamped again. Wills are rare: one copy.
  const Message& b = *built;
  MessageInit init{
      .topic = b.topic(),
      .payload = b.payload(),
      .properties = b.properties(),
      .qos = b.qos(),
      .retain = b.retain(),
      .origin_session = b.origin_session(),
      .origin_shard = b.origin_shard(),
      .arrival_ns = real_ns_,
      .expiry_ns = b.expiry_ns() == 0 ? 0 : real_ns_ + (b.expiry_ns() - b.arrival_ns())};
  // Logged when it is published, not at CONNECT: from now on it is owed to
  // offline persistent subscribers like any other message.
  if (persistence_ != nullptr && persistence_->ShouldLog(init.topic, init.qos, init.retain)) {
    absl::StatusOr<uint64_t> offset = persistence_->AppendMessage(init, s.client_id, 0);
    if (offset.ok()) {
      init.log_partition = persistence_->partition();
      init.log_offset = *offset;
    } else {
      TELEMQ_LOG(kError, "will of '%s' is published but not logged: %s", s.client_id,
                 std::string(offset.status().message()));
    }
  }
  const MessageRef will = Message::Create(init);
  if (will->retain()) transport_->RouteRetained(will);
  transport_->Route(will, router::kNoSession);
}

Session* MqttEngine::FindSession(std::string_view client_id) {
  auto it = by_client_id_.find(client_id);
  return it == by_client_id_.end() ? nullptr : sessions_[it->second].get();
}

Session& MqttEngine::CreateSession(std::string client_id) {
  SessionId id;
  if (!free_sessions_.empty()) {
    id = free_sessions_.back();
    free_sessions_.pop_back();
  } else {
    id = static_cast<SessionId>(sessions_.size());
    sessions_.emplace_back();
  }
  auto s = std::make_unique<Session>();
  s->id = id;
  s->client_id = std::move(client_id);
  by_client_id_[std::string_view(s->client_id)] = id;
  sessions_[id] = std::move(s);
  ++stats_.sessions;
  return *sessions_[id];
}

void MqttEngine::EndSession(Session& s) {
  if (s.logged && persistence_ != nullptr) {
    if (absl::StatusOr<uint64_t> r = persistence_->AppendSessionEnd(s.client_id); !r.ok()) {
      TELEMQ_LOG(kError, "session '%s' ended but the log cannot record it: %s", s.client_id,
                 std::string(r.status().message()));
    }
  }
  for (const auto& [filter, options] : s.subscriptions) transport_->Unsubscribe(s.id, filter);
  by_client_id_.erase(std::string_view(s.client_id));
  free_sessions_.push_back(s.id);
  --stats_.sessions;
  sessions_[s.id].reset();  // `s` is gone
}

int64_t MqttEngine::OnTimer() {
  int64_t next = INT64_MAX;
  for (ConnId c = 0; c < conns_.size(); ++c) {
    Connection* conn = conns_[c].get();
    if (conn == nullptr) continue;
    // Before CONNECT a socket gets 10 s; afterwards 1.5 x keep-alive
    // (MQTT-3.1.2-24), 0 disables the check.
    int64_t limit;
    if (!conn->connected) {
      limit = kConnectTimeoutNs;
    } else if (conn->keep_alive_s == 0) {
      continue;
    } else {
      limit = int64_t{conn->keep_alive_s} * kNsPerSecond * 3 / 2;
    }
    const int64_t deadline = conn->last_rx_ns + limit;
    if (deadline <= mono_ns_) {
      TELEMQ_LOG(kInfo, "closing connection of '%s': keep-alive of %u s expired", conn->client_id,
                 conn->keep_alive_s);
      if (conn->version == ProtocolVersion::kV5 && conn->connected) {
        mqtt::Disconnect d;
        d.reason_code = ReasonCode::kKeepAliveTimeout;
        Send(c, *conn, d);
      }
      Detach(c);
      transport_->CloseConnection(c, Closer::kBroker);
      continue;
    }
    next = std::min(next, deadline);
  }
  for (auto& holder : sessions_) {
    Session* s = holder.get();
    if (s == nullptr) continue;
    if (s->refill_due_ns != 0) {
      if (s->refill_due_ns <= mono_ns_) {
        Pump(*s);  // refills first when the queue has room
      } else {
        next = std::min(next, s->refill_due_ns);
      }
    }
    if (s->conn != kNoConn) continue;
    if (s->will_due_ns != 0) {
      if (s->will_due_ns <= mono_ns_) {
        PublishWill(*s);
      } else {
        next = std::min(next, s->will_due_ns);
      }
    }
    if (s->expiry_s != UINT32_MAX) {
      const int64_t end = s->disconnected_ns + int64_t{s->expiry_s} * kNsPerSecond;
      if (end <= mono_ns_) {
        PublishWill(*s);  // MQTT 5 3.1.3.2.2: the will goes out when the session ends
        TELEMQ_LOG(kDebug, "session '%s' expired", s->client_id);
        EndSession(*s);
      } else {
        next = std::min(next, end);
      }
    }
  }
  return next;
}

void MqttEngine::ShutdownAll() {
  for (ConnId c = 0; c < conns_.size(); ++c) {
    Connection* conn = conns_[c].get();
    if (conn == nullptr) continue;
    if (conn->version == ProtocolVersion::kV5 && conn->connected) {
      mqtt::Disconnect d;
      d.reason_code = ReasonCode::kServerShuttingDown;
      Send(c, *conn, d);
    }
    // A broker shutdown is not the client's failure: no will (Mosquitto and
    // the 5.0 text agree the will is for the client's abnormal end).
    if (conn->session != router::kNoSession) sessions_[conn->session]->will.reset();
    Detach(c);
    transport_->CloseConnection(c, Closer::kBroker);
  }
}

void MqttEngine::Abort(ConnId c, ReasonCode reason, std::string_view why) {
  if (c >= conns_.size() || conns_[c] == nullptr) return;
  Connection& conn = *conns_[c];
  if (conn.version == ProtocolVersion::kV5 && conn.connected) {
    mqtt::Disconnect d;
    d.reason_code = reason;
    Send(c, conn, d);
  }
  TELEMQ_LOG(kWarning, "closing connection of '%s': %s", conn.client_id, std::string(why));
  Detach(c);
  transport_->CloseConnection(c, Closer::kBroker);
}

}  // namespace telemq::session
