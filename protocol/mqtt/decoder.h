// telemq: incremental, zero-copy MQTT 3.1.1 / 5.0 packet decoder (sans-IO).
//
// The caller keeps every received-but-unconsumed byte in one contiguous
// buffer and calls Decode on it after each read:
//
//   mqtt::Decoder decoder({.role = mqtt::Role::kServer, .max_packet_size = 1 << 20});
//   mqtt::Packet packet;
//   for (;;) {
//     mqtt::DecodeResult r = decoder.Decode(buffered, &packet);
//     if (r.status == mqtt::DecodeStatus::kNeedMore) break;    // read more (r.needed)
//     if (r.status == mqtt::DecodeStatus::kError) { ... close, see decode_error.h }
//     Handle(packet);              // views point into `buffered`
//     buffered = buffered.subspan(r.consumed);   // after Handle is done with them
//   }
//
// Contract:
//  - kOk: *out holds one packet, `consumed` is its total size (fixed header
//    included). Every string_view / span in *out points into `bytes`, so it
//    stays valid exactly as long as the caller keeps those bytes unmodified
//    and in place. Copy what must outlive the buffer (the broker copies a
//    PUBLISH into its shared message once).
//  - kNeedMore: no packet yet; nothing is consumed and *out is unspecified.
//    `needed` is the total size of the packet once its fixed header is
//    complete (so the caller can size its buffer), 0 before that.
//  - kError: the connection must be closed (after CONNACK / DISCONNECT as
//    GetDecodeErrorInfo(error) says). *out is unspecified. Errors visible in
//    the fixed header (type, flags, remaining length encoding, size limit)
//    are reported as soon as those bytes are present, before the body is
//    buffered: a hostile peer cannot make us hold a 256 MB packet.
//  - Any prefix of a valid packet yields kNeedMore; any prefix of an invalid
//    one yields kNeedMore or the error the whole packet gives.
//
// Protocol version: a server-role decoder starts without one. The first
// packet must be CONNECT; when it decodes without error the decoder adopts
// its protocol level by itself, and any later CONNECT is kSecondConnect. A
// server-role decoder created WITH a version behaves as if that CONNECT had
// been decoded already (a connection handed to another shard after its
// CONNECT). A client-role decoder must be given the version it put in its
// CONNECT.
//
// The decoder checks everything a single packet can show (spec MUSTs on
// syntax, ranges and direction). Rules that need session state - topic alias
// above the negotiated maximum, packet id in use, receive maximum, client id
// assignment, AUTH sequencing, maximum QoS - belong to the session.
//
// Thread safety: a Decoder is owned by one connection and one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "protocol/mqtt/decode_error.h"
#include "protocol/mqtt/packets.h"
#include "protocol/mqtt/types.h"

namespace telemq::mqtt {

// Largest packet MQTT can express: 1 type byte + 4 length bytes + 268435455.
inline constexpr uint32_t kMaxMqttPacketSize = 268'435'460;

// Which end of the connection decodes: a server decodes what clients send.
enum class Role : uint8_t { kServer, kClient };

struct DecoderOptions {
  Role role = Role::kServer;
  std::optional<ProtocolVersion> version;         // see "Protocol version" above
  uint32_t max_packet_size = kMaxMqttPacketSize;  // total bytes, fixed header included
};

enum class DecodeStatus : uint8_t { kOk, kNeedMore, kError };

struct DecodeResult {
  DecodeStatus status = DecodeStatus::kNeedMore;
  DecodeError error = DecodeError::kNone;  // kError only
  size_t consumed = 0;                     // kOk only
  size_t needed = 0;                       // kNeedMore: total packet size, 0 if unknown

  bool ok() const { return status == DecodeStatus::kOk; }
  // The MQTT 5.0 reason code the session sends for this error.
  ReasonCode reason() const { return GetDecodeErrorInfo(error).reason; }
  // What a 3.1.1 server does about this error.
  V311Reaction v311_reaction() const { return GetDecodeErrorInfo(error).v311; }
};

class Decoder {
 public:
  explicit Decoder(DecoderOptions options)
      : role_(options.role),
        version_(options.version),
        max_size_(options.max_packet_size),
        connect_received_(options.role == Role::kServer && options.version.has_value()) {}

  DecodeResult Decode(std::span<const uint8_t> bytes, Packet* out);

  Role role() const { return role_; }
  std::optional<ProtocolVersion> version() const { return version_; }
  bool connect_received() const { return connect_received_; }

  // The session lowers the limit after CONNECT if its configuration says so.
  void set_max_packet_size(uint32_t size) { max_size_ = size; }
  uint32_t max_packet_size() const { return max_size_; }

 private:
  DecodeResult DecodeBody(uint8_t first, const uint8_t* body, size_t body_size, size_t total,
                          Packet* out);

  Role role_;
  std::optional<ProtocolVersion> version_;
  uint32_t max_size_;
  bool connect_received_ = false;
};

// MQTT 5.0 3.3.2.3.2: with Payload Format Indicator = 1 the payload must be
// UTF-8. Returns kNone or kPayloadFormatInvalid. Not run by Decode because
// the receiver may choose not to check (and it reads the whole payload).
DecodeError CheckPayloadFormat(const Publish& publish);
DecodeError CheckWillPayloadFormat(const Will& will);

}  // namespace telemq::mqtt
