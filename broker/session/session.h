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

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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
  // Counted in the session's consumption of the message's log partition
  // (a routed, logged message to a persistent session; not a retained copy).
  bool tracked = false;
  bool shared = false;  // delivered as a shared-subscription pick
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
  // QoS 2 whose packet id is in the log (Persistence::AppendQos2Out).
  bool logged = false;
};

// The QoS 2 packet ids a client has sent and not yet released: a sorted
// vector (24 bytes when empty, against 40 for a hash set; sessions are many,
// and the ids of one are few: at most its Receive Maximum).
class PacketIdSet {
 public:
  bool contains(uint16_t id) const { return std::binary_search(ids_.begin(), ids_.end(), id); }
  void insert(uint16_t id) {
    auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
    if (it == ids_.end() || *it != id) ids_.insert(it, id);
  }
  size_t erase(uint16_t id) {
    auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
    if (it == ids_.end() || *it != id) return 0;
    ids_.erase(it);
    return 1;
  }
  bool empty() const { return ids_.empty(); }
  size_t size() const { return ids_.size(); }
  std::vector<uint16_t>::const_iterator begin() const { return ids_.begin(); }
  std::vector<uint16_t>::const_iterator end() const { return ids_.end(); }

 private:
  std::vector<uint16_t> ids_;
};

struct Will {
  MessageRef message;
  uint32_t delay_s = 0;  // 5.0 Will Delay Interval
};

// Every connection has a Session, so its size is memory per idle connection
// (docs/benchmarks.md): the small fields share 8-byte slots, and the struct
// stays at 312 bytes, the largest that takes a 320-byte malloc chunk.
struct Session {
  std::string client_id;
  SessionId id = 0;
  ConnId conn = kNoConn;  // kNoConn while offline
  mqtt::ProtocolVersion version = mqtt::ProtocolVersion::kV311;
  // Durable state (persistence.h). `logged`: the log holds this session
  // (its last session record is not followed by a session end).
  bool logged = false;
  uint16_t next_packet_id = 1;

  // Seconds the session lives after its connection closes; 0 = ends with the
  // connection; UINT32_MAX = never expires (3.1.1 persistent sessions).
  uint32_t expiry_s = 0;
  int64_t disconnected_ns = 0;  // when the connection closed (for expiry)

  // Subscription strings as received ("a/+/c" or "$share/g/a/#"), each once.
  std::vector<std::pair<std::string, router::SubscriptionOptions>> subscriptions;

  Fifo<InFlight> inflight;  // in send order: redelivery keeps it
  Fifo<Outbound> queue;     // not yet sent
  uint64_t queued_bytes = 0;
  PacketIdSet inbound_qos2;  // PUBREC sent, PUBREL awaited

  std::optional<Will> will;
  // A delayed will (5.0) is due at this time; 0 = none pending.
  int64_t will_due_ns = 0;

  uint64_t dropped_messages = 0;  // queue limits, expiry, packet size
  // The low 32 bits of dropped_messages at the last log line: the lines are
  // a second apart, and the count between two fits.
  uint32_t dropped_reported = 0;
  bool consumed_dirty = false;   // listed in the engine's consumed_dirty_
  int64_t next_drop_log_ns = 0;  // no queue-full line before this time

  // Per log partition: one past the highest offset routed to this session,
  // and how many tracked messages of the partition are queued or in flight.
  // What the session has consumed follows from both (ConsumedOffsets).
  struct Progress {
    uint64_t seen_end = 0;
    uint32_t pending = 0;
  };
  std::vector<Progress> progress;

  // Recent replays (mqtt_replay.cc): live messages of `filter` below `ends`
  // were delivered by the replay already, until `until_ns` (monotonic).
  struct ReplayWindow {
    std::string filter;
    std::vector<uint64_t> ends;
    int64_t until_ns = 0;
  };
  std::vector<ReplayWindow> replays;

  // A backlog beyond the queue limits stays in the log (mqtt_backlog.cc).
  // Per partition, the offset from which this session's tracked messages
  // are read back from the log instead of the queue (UINT64_MAX: none of
  // that partition yet); empty when nothing is spilled. While spilled, new
  // tracked messages go to the log side too, so order is kept.
  std::vector<uint64_t> spill_from;
  int64_t refill_due_ns = 0;  // a refill to retry at this time; 0: none
  bool spilled() const { return !spill_from.empty(); }
  void NoteSpilled(const Message& m);

  bool persistent() const { return expiry_s != 0; }

  // The next packet identifier not used by an in-flight message.
  uint16_t AllocatePacketId();
  InFlight* FindInFlight(uint16_t packet_id);
  bool EraseInFlight(uint16_t packet_id);
  // Subscription bookkeeping; returns false when `filter` was not present.
  void SetSubscription(std::string_view filter, const router::SubscriptionOptions& options);
  bool RemoveSubscription(std::string_view filter);
  bool HasSubscription(std::string_view filter) const;

  // Consumption of logged messages. NoteRouted when a tracked message
  // reaches the session, AddPending when it is queued or in flight,
  // Settle when it leaves (acknowledged, dropped or expired).
  void NoteRouted(const Message& m);
  void AddPending(const Message& m);
  void Settle(Outbound& out);
  // Per partition, the offset below which every message is settled: the
  // oldest pending message's, or seen_end when none is pending.
  void ConsumedOffsets(std::vector<uint64_t>* out) const;
};

}  // namespace telemq::session
