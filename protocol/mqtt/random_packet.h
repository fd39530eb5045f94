// telemq: seeded generator of random valid MQTT packets (test-only).
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "protocol/mqtt/decoder.h"
#include "protocol/mqtt/packets.h"

namespace telemq::mqtt::testing {

// Generated packets hold views into the generator's arena: keep the
// generator alive while using them.
class RandomPacketGenerator {
 public:
  explicit RandomPacketGenerator(uint64_t seed) : rng_(seed) {}

  // A valid packet that a peer in `sender` role may send at `version`.
  // (sender == kClient: decoded by a server-role decoder.)
  Packet Next(Role sender, ProtocolVersion version);

 private:
  uint32_t Uniform(uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng_);
  }
  bool Coin() { return Uniform(0, 1) == 1; }
  std::string_view Keep(std::string s);
  std::string_view RandomString(size_t max_len, bool allow_slash);
  std::string_view TopicName();
  std::string_view TopicFilter();
  std::span<const uint8_t> RandomBytes(size_t max_len);
  void FillProperties(Properties& p, uint16_t packet_bit, bool from_server);
  ReasonCode RandomReason(PacketType type, bool v5);

  std::mt19937_64 rng_;
  std::deque<std::string> arena_;
  std::deque<std::vector<StringPair>> pairs_;
  std::deque<std::vector<uint32_t>> ids_;
};

}  // namespace telemq::mqtt::testing
