// telemq: hand-written MQTT packets (test-only), each with the packet it
// must decode to. Shared by the golden, partial-read and encoder tests and by
// the fuzz seed corpus generator.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/mqtt/decoder.h"
#include "protocol/mqtt/packets.h"

namespace telemq::mqtt::testing {

struct GoldenPacket {
  std::string_view name;    // also the corpus file name
  Role role;                // decoder role that receives it
  ProtocolVersion version;  // connection version (CONNECT: its own)
  std::vector<uint8_t> bytes;
  Packet packet;   // what `bytes` decodes to
  bool canonical;  // Encode(packet) reproduces `bytes` exactly
};

// Every golden packet; the result is built once and lives forever.
const std::vector<GoldenPacket>& GoldenPackets();

// A decoder as a connection in `role` at `version` would have it. For a
// server receiving CONNECT no version is set yet.
Decoder DecoderFor(Role role, ProtocolVersion version, PacketType type);

}  // namespace telemq::mqtt::testing
