// telemq: what the MQTT engine asks of its shard's durable log.
//
// The engine stays sans-IO: it says *what* must survive a crash (a message,
// a persistent session's state, how far a session has consumed each log
// partition) and the implementation (broker/persist/shard_log.h) encodes the
// records and appends them to the shard's log partition. An acknowledgement
// that promises durability (PUBACK, PUBREC, SUBACK, CONNACK of a persistent
// session) is written after Transport::HoldOutput(conn, offset), so the
// shard sends it only once the record is durable (docs/persistence.md).
//
// A null Persistence means memory only (unit tests, embedded use without a
// data directory).
//
// Thread: the shard thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/base/message.h"
#include "broker/router/subscription.h"
#include "protocol/mqtt/types.h"

namespace telemq::session {

struct Session;

// A persistent session's durable state (everything but its message queue,
// which the log's message records and the session's cursors define).
struct SessionState {
  std::string client_id;
  mqtt::ProtocolVersion version = mqtt::ProtocolVersion::kV311;
  uint32_t expiry_s = 0;
  std::vector<std::pair<std::string, router::SubscriptionOptions>> subscriptions;
};

// A QoS 2 PUBLISH sent to a logged session's client and not yet completed
// (PUBCOMP): the packet id the client knows it by survives a restart.
struct OutboundQos2 {
  uint16_t packet_id = 0;
  bool released = false;   // PUBREC received, PUBREL sent
  uint32_t partition = 0;  // the message's log position (while not released)
  uint64_t offset = 0;
};

// A persistent session rebuilt from the log at start-up (broker/persist/
// recovery.h), handed to the owner shard's engine (MqttEngine::Restore).
struct RestoredSession {
  SessionState state;
  // Messages owed, oldest first: QoS after the downgrade to the subscription,
  // the retain flag to send, the subscription identifiers.
  struct Owed {
    MessageRef message;
    uint8_t qos = 1;
    bool retain = false;
    std::vector<uint32_t> subscription_ids;
  };
  std::vector<Owed> queue;
  // QoS 2 PUBLISHes received from this client and not yet released (PUBREL).
  std::vector<uint16_t> inbound_qos2;
  // QoS 2 PUBLISHes sent to this client and not yet completed. One not
  // released whose message is in `queue` is resent with its packet id; any
  // other is in its PUBREL phase (its message was acknowledged or dropped).
  std::vector<OutboundQos2> outbound_qos2;
  // Per log partition: every message of partition p below consumed[p] is
  // settled for this session (delivered and acknowledged, or not owed).
  std::vector<uint64_t> consumed;
  // The backlog beyond the queue limits stays in the log (session.h,
  // spill_from); empty when all of it is in `queue`.
  std::vector<uint64_t> spill_from;
};

// A read of logged messages back (replay on request): every partition,
// merged by broker time.
struct HistoryRequest {
  int64_t from_ns = 0;  // the first broker time wanted, or:
  // Per partition, the first offset wanted (UINT64_MAX: none of that
  // partition); when not empty, from_ns is ignored.
  std::vector<uint64_t> from_offsets;
  size_t max_messages = 0;
  // Whether a logged message is wanted, from its topic, QoS and publisher.
  std::function<bool(std::string_view topic, uint8_t qos, std::string_view origin_client)> accept;
};

struct History {
  std::vector<MessageRef> messages;  // oldest first, with their log positions
  // Per partition: reading stopped below this offset (a message of the
  // partition below it was considered, none above).
  std::vector<uint64_t> ends;
  bool truncated = false;  // max_messages was reached before the end
};

class Persistence {
 public:
  virtual ~Persistence() = default;

  // This shard's partition index (what Message::log_partition says).
  virtual uint32_t partition() const = 0;

  // Whether a PUBLISH is logged: QoS 1/2 and retained always, QoS 0 when its
  // topic matches a filter configured as persistent.
  virtual bool ShouldLog(std::string_view topic, uint8_t qos, bool retain) const = 0;

  // Appends a message record. `origin_client` and `packet_id` (QoS 2 only,
  // else 0) let recovery rebuild the publisher's unreleased QoS 2 ids.
  // Returns the record's offset, or an error once the log has failed.
  virtual absl::StatusOr<uint64_t> AppendMessage(const MessageInit& message,
                                                 std::string_view origin_client,
                                                 uint16_t packet_id) = 0;
  // A persistent session was created or changed (expiry, subscriptions).
  virtual absl::StatusOr<uint64_t> AppendSession(const SessionState& state) = 0;
  // A persistent session ended (clean start, expiry, 5.0 expiry set to 0).
  virtual absl::StatusOr<uint64_t> AppendSessionEnd(std::string_view client_id) = 0;
  // How far the session has consumed each partition (see RestoredSession).
  // Best effort: losing one costs duplicates after a crash, never a message.
  virtual void AppendConsumed(std::string_view client_id, std::span<const uint64_t> consumed) = 0;
  // The client released (PUBREL) an inbound QoS 2 packet id. The PUBCOMP
  // waits for it: a client that reuses the id after PUBCOMP must not find
  // it still taken after a crash (its new message would be ignored).
  virtual absl::StatusOr<uint64_t> AppendQos2Release(std::string_view client_id,
                                                     uint16_t packet_id) = 0;

  // Outbound QoS 2 to a logged session, exactly once across a restart: a
  // PUBLISH goes out after its record (released = false) is durable, so a
  // restart resends it with the same packet id, which the client recognises;
  // its PUBREL after the record with released = true, so a restart resends
  // the PUBREL, not the message. The completion (PUBCOMP) is best effort: a
  // PUBREL resent for a completed id is answered and delivers nothing.
  virtual absl::StatusOr<uint64_t> AppendQos2Out(std::string_view client_id,
                                                 const OutboundQos2& out) = 0;
  virtual void AppendQos2OutComplete(std::string_view client_id, uint16_t packet_id) = 0;

  // A checkpoint re-writes the state this shard owns, so that retention may
  // delete the segments where it was first written: between Begin and End,
  // every logged session (AppendSession, AppendConsumed, AppendQos2Pending,
  // AppendQos2OutPending)
  // and the retained messages whose record is in this shard's partition
  // (AppendRetainedCopy). Best effort, like AppendConsumed.
  virtual void AppendCheckpointBegin() = 0;
  virtual void AppendRetainedCopy(const Message& message) = 0;
  virtual void AppendQos2Pending(std::string_view client_id, std::span<const uint16_t> ids) = 0;
  // Replaces what earlier records said of the session's outbound QoS 2.
  virtual void AppendQos2OutPending(std::string_view client_id,
                                    std::span<const OutboundQos2> entries) = 0;
  virtual void AppendCheckpointEnd() = 0;

  // Reads history synchronously (the shard's loop waits): callers bound
  // max_messages. An error when a partition cannot be read.
  virtual absl::Status ReadHistory(const HistoryRequest& request, History* out) = 0;
};

}  // namespace telemq::session
