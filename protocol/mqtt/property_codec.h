// telemq: internal wire codec for MQTT 5.0 property blocks (spec 2.2.2).
//
//   +-------------------------------+----------------------------------+
//   | Property Length (var. int)    | id (var. int) | value | id | ... |
//   +-------------------------------+----------------------------------+
//
// Not part of the public API; used by the decoder and encoder.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/mqtt/decode_error.h"
#include "protocol/mqtt/properties.h"
#include "protocol/mqtt/wire.h"

namespace telemq::mqtt::property_codec {

// Reads a property length and block from `r` and validates every entry for
// the packet identified by `packet_bit` (PacketBit(type) or
// kWillPropertiesBit). On success *out holds views into the block.
DecodeError Decode(wire::Reader& r, uint16_t packet_bit, Properties* out);

// Returned by ContentSize when a value cannot be encoded (a string over
// 65535 bytes, a subscription identifier over 268435455). It exceeds any
// remaining length, so the encoder's size check rejects the packet; it is
// small enough that sums never overflow.
inline constexpr size_t kUnencodable = size_t{wire::kMaxVarInt} + 1;

// Bytes of the property entries (without the length prefix), or kUnencodable.
size_t ContentSize(const Properties& p);

// Content size plus its variable byte integer prefix.
inline size_t BlockSize(size_t content_size) {
  if (content_size >= kUnencodable) return kUnencodable;
  return wire::VarIntSize(static_cast<uint32_t>(content_size)) + content_size;
}

// Writes the length prefix and every entry. `content_size` must be
// ContentSize(p).
void Write(const Properties& p, size_t content_size, wire::Writer& w);

}  // namespace telemq::mqtt::property_codec
