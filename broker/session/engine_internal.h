// telemq: MqttEngine internals shared by its .cc files (not for other modules).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "broker/session/mqtt_engine.h"
#include "protocol/mqtt/decoder.h"

namespace telemq::session {

inline constexpr int64_t kNsPerSecond = 1'000'000'000;

struct MqttEngine::Connection {
  explicit Connection(uint32_t max_packet_size)
      : decoder({.role = mqtt::Role::kServer, .max_packet_size = max_packet_size}) {}

  // One per connection, so its size is memory per idle connection: the
  // small fields fill each other's padding (88 bytes, a 96-byte chunk).
  mqtt::Decoder decoder;
  mqtt::ProtocolVersion version = mqtt::ProtocolVersion::kV311;
  bool connected = false;               // CONNACK (success) sent
  bool problem_info = true;             // 5.0 Request Problem Information
  uint16_t keep_alive_s = 0;            // 0: no keep-alive
  uint16_t client_receive_max = 65535;  // 5.0 Receive Maximum
  SessionId session = router::kNoSession;
  int64_t last_rx_ns = 0;                   // monotonic time of the last packet
  uint32_t client_max_packet = UINT32_MAX;  // 5.0 Maximum Packet Size
  uint32_t resend_pending = 0;              // in-flight entries with resend_pending
  // 5.0 server to client: how many aliases we may use (the client's Topic
  // Alias Maximum, capped by ours).
  uint16_t out_alias_max = 0;
  std::string client_id;  // for log lines
  // 5.0 topic aliases, allocated by the first one used: most connections
  // never use any, and idle connections are many.
  struct Aliases {
    // Client to server: alias -> topic name (index = alias).
    std::vector<std::string> in;
    // Server to client: topic -> alias, given to the first topics sent and
    // never replaced; this connection only.
    absl::flat_hash_map<std::string, uint16_t> out;
  };
  std::unique_ptr<Aliases> aliases;
  Aliases& aliases_in_use() {
    if (aliases == nullptr) aliases = std::make_unique<Aliases>();
    return *aliases;
  }
};

// Clears `f`'s resend_pending mark and the connection's count of them (a
// template: MqttEngine::Connection is private to the engine).
template <typename Conn>
void ClearResendPending(InFlight* f, Conn& conn) {
  if (f == nullptr || !f->resend_pending) return;
  f->resend_pending = false;
  --conn.resend_pending;
}

// Clamp helper for in-flight windows.
inline uint32_t InflightLimit(uint32_t configured, uint16_t receive_max) {
  return configured < receive_max ? configured : receive_max;
}

}  // namespace telemq::session
