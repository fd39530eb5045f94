// telemq: MQTT 3.1.1 / 5.0 packet encoder into caller-provided buffers.
//
//   std::array<uint8_t, 256> buf;
//   size_t n = mqtt::Encode(packet, mqtt::ProtocolVersion::kV5, buf);
//   if (n == 0) { ... buffer too small (check EncodedSize) or packet unencodable }
//
// Fan-out hot path: every subscriber gets its own few header bytes (packet
// id, QoS, flags, subscription ids) while the payload stays in the shared
// message and goes out as a second iovec:
//
//   uint8_t hdr[mqtt::kMaxPublishHeaderStackSize];
//   size_t h = mqtt::EncodePublishHeader(pub, version, hdr);
//   iov[0] = {hdr, h}; iov[1] = {pub.payload.data(), pub.payload.size()};
//
// Contract:
//  - Never allocates, never writes past `out`, writes nothing when it returns 0.
//  - Returns 0 when `out` is smaller than EncodedSize, or when the packet
//    cannot be expressed on the wire (a string or binary field over 65535
//    bytes, remaining length over 268435455, AUTH in 3.1.1); EncodedSize
//    is 0 for exactly those packets.
//  - Fields 3.1.1 lacks (properties, reason codes of acks and DISCONNECT,
//    5.0 subscription options) are dropped for 3.1.1. CONNACK and SUBACK
//    reason codes are mapped to 3.1.1 return codes (types.h).
//  - CONNECT is written with its own `version` field; the version argument
//    is ignored for it.
//  - The encoder trusts its input beyond wire limits: it does not check
//    topic syntax, packet id 0, reason codes or property placement. Packets
//    the broker builds are valid by construction; tests decode what it writes.
//  - 5.0 short forms are used whenever allowed: PUBACK/PUBREC/PUBREL/PUBCOMP
//    without reason code when Success and no properties, without property
//    length when no properties; DISCONNECT and AUTH with remaining length 0
//    when Success / Normal and no properties.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/mqtt/packets.h"
#include "protocol/mqtt/types.h"

namespace telemq::mqtt {

// A PUBLISH header (fixed header + topic + packet id + properties) without
// user properties or correlation data fits here when its topic is under
// ~200 bytes; use PublishHeaderSize for the exact figure.
inline constexpr size_t kMaxPublishHeaderStackSize = 256;

size_t EncodedSize(const Packet& packet, ProtocolVersion version);
size_t Encode(const Packet& packet, ProtocolVersion version, std::span<uint8_t> out);

// Non-variant overloads for the PUBLISH hot path.
size_t EncodedSize(const Publish& publish, ProtocolVersion version);
size_t Encode(const Publish& publish, ProtocolVersion version, std::span<uint8_t> out);

// Everything of the PUBLISH but its payload; the remaining length written in
// the fixed header does include the payload. 0 when unencodable.
size_t PublishHeaderSize(const Publish& publish, ProtocolVersion version);
size_t EncodePublishHeader(const Publish& publish, ProtocolVersion version, std::span<uint8_t> out);

}  // namespace telemq::mqtt
