// telemq: what the MQTT engine needs from its shard.
//
// The engine (mqtt_engine.h) is sans-IO: it never touches a socket, a ring or
// another shard. It asks its shard for these few services; the shard performs
// them with io_uring and the mailboxes, and tests use an in-memory fake.
// Every call is made on the shard thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "broker/base/message.h"
#include "broker/router/subscription_trie.h"
#include "broker/session/session.h"

namespace telemq::session {

// Who ended a connection: the shard lingers after the broker's last bytes so
// the client reads them (Shard::MaybeFinishClose), but not after a client's
// DISCONNECT, after which the client may send nothing more (3.14.4).
enum class Closer : uint8_t { kBroker, kClient };

class Transport {
 public:
  virtual ~Transport() = default;

  // Contiguous space for `n` bytes at the tail of the connection's output;
  // CommitOutput(c, n) makes them part of the stream. The shard sends
  // everything committed during a loop turn with one sendmsg.
  virtual std::span<uint8_t> ReserveOutput(ConnId c, size_t n) = 0;
  virtual void CommitOutput(ConnId c, size_t n) = 0;
  // Bytes committed and not yet sent (for back-pressure on QoS 0).
  virtual size_t OutputBytes(ConnId c) const = 0;
  // Output committed to `c` after this call is sent only once the shard's
  // log is durable past record `log_offset` (per the durability mode), so an
  // acknowledgement never promises what a crash could still take away.
  // Output committed before is unaffected.
  virtual void HoldOutput(ConnId c, uint64_t log_offset) = 0;

  // Closes the connection once what is already committed has been sent (so a
  // CONNACK or DISCONNECT with a reason reaches the client). The engine
  // forgets the connection; the shard calls OnConnectionClosed no more.
  virtual void CloseConnection(ConnId c, Closer by) = 0;

  // Moves the connection to the shard that owns its client id, with the bytes
  // received so far that are not yet processed (starting with the CONNECT).
  // The engine forgets the connection.
  virtual void HandOff(ConnId c, uint32_t owner_shard, std::span<const uint8_t> unprocessed) = 0;

  // The shard that owns `client_id` (hash of the id modulo shard count).
  virtual uint32_t OwnerShard(std::string_view client_id) const = 0;
  virtual uint32_t shard_index() const = 0;

  // Delivers `message` to every matching subscriber on every shard. The shard
  // calls MqttEngine::Deliver for its own matches (possibly before returning).
  virtual void Route(const MessageRef& message, SessionId publisher) = 0;
  // Applies a retained message (or a clear) to every shard's RetainedStore.
  virtual void RouteRetained(const MessageRef& message) = 0;

  // Subscription changes: the shard updates its trie and, when the shard's
  // interest in the filter appears or disappears, the other shards' replicas.
  virtual router::SubscribeResult Subscribe(SessionId s, std::string_view filter,
                                            const router::SubscriptionOptions& options) = 0;
  virtual void Unsubscribe(SessionId s, std::string_view filter) = 0;

  // The engine has a deadline at this monotonic time (ns): call OnTimer then
  // or earlier. OnTimer's return value replaces every earlier request.
  virtual void WakeAt(int64_t mono_ns) = 0;
};

}  // namespace telemq::session
