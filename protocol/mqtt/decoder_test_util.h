// telemq: helpers for the decoder rule tests (test-only).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "protocol/mqtt/decoder.h"

namespace telemq::mqtt::testing {

inline constexpr auto kV311 = ProtocolVersion::kV311;
inline constexpr auto kV5 = ProtocolVersion::kV5;

// Decodes `bytes` with a fresh decoder; kNone when a packet was decoded,
// kCount when more bytes were needed, else the error.
inline DecodeError DecodeWith(Role role, std::optional<ProtocolVersion> version,
                              const std::vector<uint8_t>& bytes, Packet* out = nullptr) {
  Decoder d({.role = role, .version = version});
  Packet p;
  const DecodeResult r = d.Decode(bytes, out ? out : &p);
  if (r.status == DecodeStatus::kNeedMore) return DecodeError::kCount;
  if (r.ok() && r.consumed != bytes.size()) return DecodeError::kCount;
  return r.error;
}

// Server receiving from a client at `version` (CONNECT already seen).
inline DecodeError FromClient(ProtocolVersion v, const std::vector<uint8_t>& bytes,
                              Packet* out = nullptr) {
  return DecodeWith(Role::kServer, v, bytes, out);
}

// Client receiving from a server at `version`.
inline DecodeError FromServer(ProtocolVersion v, const std::vector<uint8_t>& bytes,
                              Packet* out = nullptr) {
  return DecodeWith(Role::kClient, v, bytes, out);
}

// A server's first packet (CONNECT expected).
inline DecodeError FirstPacket(const std::vector<uint8_t>& bytes, Packet* out = nullptr) {
  return DecodeWith(Role::kServer, std::nullopt, bytes, out);
}

// Appends raw bytes. (resize + memcpy rather than insert/push_back: GCC 12
// at -O3 reports false -Wstringop-overflow on small uint8_t vector growth.)
inline void Append(std::vector<uint8_t>& b, const void* data, size_t n) {
  const size_t at = b.size();
  b.resize(at + n);
  if (n != 0) std::memcpy(b.data() + at, data, n);
}

inline void AppendByte(std::vector<uint8_t>& b, uint8_t v) { Append(b, &v, 1); }

// Appends a two-byte-length string.
inline void PutString(std::vector<uint8_t>& b, std::string_view s) {
  const uint8_t len[2] = {static_cast<uint8_t>(s.size() >> 8), static_cast<uint8_t>(s.size())};
  Append(b, len, 2);
  Append(b, s.data(), s.size());
}

// first byte + remaining length (< 128) + body.
inline std::vector<uint8_t> Packet1(uint8_t first, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> b(2 + body.size());
  b[0] = first;
  b[1] = static_cast<uint8_t>(body.size());
  if (!body.empty()) std::memcpy(b.data() + 2, body.data(), body.size());
  return b;
}

}  // namespace telemq::mqtt::testing
