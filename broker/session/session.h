// telemq: the state of one MQTT session, kept by the shard that owns its
// client id.
//
// A session outlives its network connections when it is persistent (3.1.1
// Clean Session = 0, 5.0 Session Expiry Interval > 0): its subscriptions,
// the QoS 1/2 messages sent but not yet acknowledged (in-flight), the ones
// waiting for a free in-flight slot or for the client to come back (queue),
// and the QoS 2 packet ids received but not yet released survive a
// disconnect and are resumed by the next CONNECT with the same client id.
//
// Plain data plus small invariant-keeping helpers; the protocol rules that
// drive it are in mqtt_engine.h. Owned and used by one shard thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "broker/base/fifo.h"
#include "broker/base/message.h"
#include "broker/router/subscription.h"
#include "protocol/mqtt/types.h"

namespace telemq::session {

using SessionId = router::SessionId;
using ConnId = uint32_t;
inline constexpr ConnId kNoConn = UINT32_MAX;

// A message owed to this session's client, with what differs per subscriber.
struct Outbound {
  MessageRef message;
  uint8_t qos = 0;      // after the downgrade to the subscription's QoS
  bool retain = false;  // RETAIN flag to send
  absl::InlinedVector<uint32_t, 1> subscription_ids;
};

struct InFlight {
  enum class State : uint8_t { kAwaitPuback, kAwaitPubrec, kAwaitPubcomp };
  Outbound out;
  uint16_t packet_id = 0;
  State state = State::kAwaitPuback;
  // Sent on an earlier connection, not yet resent on this one: the client's
  // Receive Maximum holds it back (MQTT 5.0 4.9).
  bool resend_pending = false;
};

struct Will {
  MessageRef message;
  uint32_t delay_s = 0;  // 5.0 Will Delay Interval
};

struct Session {
  std::string client_id;
  SessionId id = 0;
  ConnId conn = kNoConn;  // kNoConn while offline
  mqtt::ProtocolVersion version = mqtt::ProtocolVersion::kV311;

  // Seconds the session lives after its connection closes; 0 = ends with the
  // connection; UINT32_MAX = never expires (3.1.1 persistent sessions).
  uint32_t expiry_s = 0;
  int64_t disconnected_ns = 0;  // when the connection closed (for expiry)

  // Subscription strings as received ("a/+/c" or "$share/g/a/#"), each once.
  std::vector<std::pair<std::string, router::SubscriptionOptions>> subscriptions;

  Fifo<InFlight> inflight;  // in send order: redelivery keeps it
  Fifo<Outbound> queue;     // not yet sent
  uint64_t queued_bytes = 0;
  uint16_t next_packet_id = 1;
  absl::flat_hash_set<uint16_t> inbound_qos2;  // PUBREC sent, PUBREL awaited

  std::optional<Will> will;
  // A delayed will (5.0) is due at this time; 0 = none pending.
  int64_t will_due_ns = 0;

  uint64_t dropped_messages = 0;  // queue limits, expiry, packet size

  bool persistent() const { return expiry_s != 0; }

  // The next packet identifier not used by an in-flight message.
  uint16_t AllocatePacketId();
  InFlight* FindInFlight(uint16_t packet_id);
  bool EraseInFlight(uint16_t packet_id);
  // Subscription bookkeeping; returns false when `filter` was not present.
  void SetSubscription(std::string_view filter, const router::SubscriptionOptions& options);
  bool RemoveSubscription(std::string_view filter);
};

}  // namespace telemq::session
