// telemq: the MQTT 3.1.1 / 5.0 protocol engine of one shard (sans-IO).
//
// The shard feeds it bytes and events; it decodes packets, applies the
// session rules and answers through the Transport (transport.h). It owns the
// shard's MQTT connections' protocol state, the sessions whose client ids the
// shard owns, and the shard's replica of the retained messages.
//
//   MqttEngine engine(options, &transport);
//   engine.SetClock(mono_ns, real_ns);          // once per loop turn
//   engine.OnConnectionOpened(c);
//   size_t used = engine.OnBytes(c, received);  // keep the rest for later
//   engine.OnConnectionClosed(c);               // peer closed / error
//   int64_t next = engine.OnTimer();            // keep-alive, expiry, wills
//
// Rules and their sources are listed in docs/mqtt_conformance.md. Malformed
// input closes the connection (3.1.1) or sends the reason code 5.0 requires
// first; each close logs one line with the client, the rule and the reason.
//
// Thread: the shard thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "broker/router/match_result.h"
#include "broker/session/persistence.h"
#include "broker/session/retained_store.h"
#include "broker/session/session.h"
#include "broker/session/transport.h"
#include "protocol/mqtt/decoder.h"
#include "protocol/mqtt/packets.h"

namespace telemq::session {

struct EngineOptions {
  uint32_t max_packet_size = 1 << 20;
  uint32_t max_inflight = 256;
  uint32_t max_queued_messages = 10000;
  uint64_t max_queued_bytes = 64ull << 20;
  uint64_t max_output_bytes = 4ull << 20;
  uint16_t max_keepalive = 65535;
  uint32_t session_expiry_max = 0xFFFFFFFF;
  uint16_t topic_alias_max = 64;          // aliases a 5.0 client may use towards us
  uint32_t replay_max_messages = 100000;  // per replayed filter (mqtt_replay.cc)
  // Subscriptions one session may hold; beyond, SUBACK 0x80 (5.0: 0x97).
  uint32_t max_subscriptions = 10000;
  // 5.0 Receive Maximum announced in CONNACK: QoS 1/2 PUBLISHes a client may
  // have unacknowledged towards us (65535: none announced, the default).
  uint16_t receive_maximum = 1024;
};

struct EngineStats {
  uint64_t messages_received = 0;
  uint64_t messages_sent = 0;
  uint64_t qos0_dropped = 0;      // output over max_output_bytes
  uint64_t queue_dropped = 0;     // session queue over its limits
  uint64_t oversize_dropped = 0;  // larger than the client's Maximum Packet Size
  uint64_t protocol_errors = 0;
  uint64_t log_refused = 0;            // PUBLISH / SUBSCRIBE / CONNECT refused: the log failed
  uint64_t subscriptions_refused = 0;  // over max_subscriptions
  uint64_t spilled_sessions = 0;       // times a session's backlog went on in the log
  uint64_t refilled = 0;               // messages read back from the log into queues
  uint64_t connections = 0;            // currently open
  uint64_t sessions = 0;               // currently held
};

// Parses the value of the "replay-from" user property: RFC 3339
// ("2026-11-30T06:00:00Z"), Unix seconds ("1796000000.5"), or a time before
// now ("-90s", "-15m", "-2h", "-7d"). False when it is none of these.
bool ParseReplayFrom(std::string_view text, int64_t now_ns, int64_t* from_ns);

class MqttEngine {
 public:
  // `persistence` may be null (memory only); both outlive the engine.
  MqttEngine(const EngineOptions& options, Transport* transport,
             Persistence* persistence = nullptr);
  ~MqttEngine();
  MqttEngine(const MqttEngine&) = delete;
  MqttEngine& operator=(const MqttEngine&) = delete;

  // Clocks for this loop turn: monotonic (timers) and real time (message
  // arrival, retained versions), both in ns.
  void SetClock(int64_t mono_ns, int64_t real_ns) {
    mono_ns_ = mono_ns;
    real_ns_ = real_ns;
  }

  void OnConnectionOpened(ConnId c);
  // Processes every complete packet at the start of `data`; returns how many
  // bytes were consumed (the shard keeps the rest and calls again with more).
  // May close or hand off the connection (then the return value is moot).
  size_t OnBytes(ConnId c, std::span<const uint8_t> data);
  // The network connection is gone (peer close, error, shutdown).
  void OnConnectionClosed(ConnId c);
  // The connection's output queue shrank: queued QoS 1/2 may now go out.
  void OnOutputDrained(ConnId c);

  // Local deliveries of a routed message, as matched by this shard's trie.
  void Deliver(const MessageRef& message, const router::MatchResult& matches);
  // A retained update routed from any shard (this one included).
  void ApplyRetained(const MessageRef& message) { retained_.Apply(message); }

  // Keep-alive expiry, delayed wills, session expiry. Returns the monotonic
  // time of the next deadline (INT64_MAX: none).
  int64_t OnTimer();

  // A persistent session rebuilt from the log, before any connection.
  void Restore(RestoredSession restored);
  // Logs how far sessions whose consumption changed have got (once per loop
  // turn, before the shard's group commit).
  void FlushConsumed();
  // Re-writes the durable state this shard owns into its log (Persistence's
  // checkpoint), so retention can delete older segments.
  void WriteCheckpoint();
  // Per log partition, the lowest offset a logged session of this shard may
  // still need (UINT64_MAX: none), for retention.
  void NeededOffsets(std::vector<uint64_t>* needed) const;
  // Ends a connection for a broker-side reason (the log failed): 5.0
  // DISCONNECT with `reason`, then close; the will is published.
  void Abort(ConnId c, mqtt::ReasonCode reason, std::string_view why);

  // Graceful shutdown: DISCONNECT (5.0: Server shutting down) to every client.
  void ShutdownAll();

  const EngineStats& stats() const { return stats_; }
  RetainedStore& retained() { return retained_; }

 private:
  struct Connection;

  // Dispatch of one decoded packet. Returns false if the connection was
  // closed or handed off while handling it.
  bool Handle(ConnId c, Connection& conn, mqtt::Packet& packet, std::span<const uint8_t> raw,
              std::span<const uint8_t> rest);
  bool HandleConnect(ConnId c, Connection& conn, const mqtt::Connect& p,
                     std::span<const uint8_t> from_connect);
  bool HandlePublish(ConnId c, Connection& conn, mqtt::Publish& p);
  void HandlePuback(Connection& conn, uint16_t packet_id);
  // Ends an outbound flow (PUBACK, PUBCOMP, a refusing PUBREC); false when
  // no message has this id in flight.
  bool CompleteInFlight(Connection& conn, Session& s, uint16_t packet_id);
  void HandlePubrec(ConnId c, Connection& conn, const mqtt::Pubrec& p);
  void HandlePubrel(ConnId c, Connection& conn, const mqtt::Pubrel& p);
  void HandlePubcomp(Connection& conn, uint16_t packet_id);
  void HandleSubscribe(ConnId c, Connection& conn, const mqtt::Subscribe& p);
  void NoteRefusedSubscriptions(const Connection& conn, size_t refused);
  void HandleUnsubscribe(ConnId c, Connection& conn, const mqtt::Unsubscribe& p);
  bool HandleDisconnect(ConnId c, Connection& conn, const mqtt::Disconnect& p);

  // Ends the connection for a protocol violation: 5.0 DISCONNECT with
  // `reason` (when CONNACK was sent, unless !send_disconnect), then close.
  // Logs `why`.
  void ProtocolClose(ConnId c, Connection& conn, mqtt::ReasonCode reason, std::string_view why,
                     bool send_disconnect = true);
  // Forgets the connection and detaches its session: publishes or schedules
  // a will still held, ends a session that does not outlive its connection.
  void Detach(ConnId c);
  void EndSession(Session& s);
  void PublishWill(Session& s);
  // Builds the shared Message of a PUBLISH (or will). When `log` is set,
  // appends it to the log first; on a log failure returns null.
  MessageRef MakeMessage(const mqtt::Publish& p, SessionId origin, const Connection& conn,
                         bool log = false, uint16_t packet_id = 0);
  // Appends the session's state (created or changed) when it is persistent
  // and holds `c`'s output behind it. False when the log refused.
  bool LogSession(Session& s, ConnId c);
  void MarkConsumedDirty(Session& s);
  // Queues the logged history of `filter` from broker time `from_ns`.
  void Replay(Session& s, const std::string& filter, uint8_t qos, int64_t from_ns,
              uint32_t subscription_id);
  // A live message a recent replay of the session delivered already.
  bool AlreadyReplayed(Session& s, const Message& m);
  // Reads the next part of a spilled backlog back from the log into the
  // queue (mqtt_backlog.cc).
  void Refill(Session& s);

  // Outbound path.
  void Enqueue(Session& s, Outbound out);
  void Pump(Session& s);  // moves queued messages into free in-flight slots
  bool SendPublish(Session& s, const Outbound& out, uint16_t packet_id, bool dup);
  // Before the first send of a QoS 2 PUBLISH: a logged session's tracked
  // message gets its packet id logged, and the output is held behind it
  // (Persistence::AppendQos2Out). Returns whether it was logged.
  bool LogQos2Out(Session& s, const Outbound& out, uint16_t packet_id);
  void Resend(Session& s);  // after reconnect: in-flight again, DUP set
  // Encodes a control packet into the connection's output. False when the
  // packet exceeds the client's Maximum Packet Size (it is then not sent).
  bool Send(ConnId c, const Connection& conn, const mqtt::Packet& packet);

  Session* FindSession(std::string_view client_id);
  Session& CreateSession(std::string client_id);
  std::string AssignClientId();

  EngineOptions options_;
  Transport* transport_;
  Persistence* persistence_;
  int64_t mono_ns_ = 0;
  int64_t real_ns_ = 0;

  std::vector<std::unique_ptr<Connection>> conns_;  // by ConnId
  std::vector<std::unique_ptr<Session>> sessions_;  // by SessionId
  std::vector<SessionId> free_sessions_;
  // Keys view the sessions' own client_id (a Session never moves: it is
  // held by unique_ptr), so the id is stored once.
  absl::flat_hash_map<std::string_view, SessionId> by_client_id_;
  RetainedStore retained_;
  uint64_t assigned_ids_ = 0;
  EngineStats stats_;
  std::vector<MessageRef> scratch_retained_;
  // Refused subscriptions are logged at most once a second per shard.
  int64_t next_refusal_log_ns_ = 0;
  uint64_t refusals_unlogged_ = 0;
  std::vector<SessionId> consumed_dirty_;
  std::vector<uint64_t> scratch_consumed_;
};

}  // namespace telemq::session
