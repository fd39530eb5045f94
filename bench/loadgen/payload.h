// telemq-bench: the layout of a load-generator message payload.
//
//   offset  size  field
//   0       4     magic "TQB1"
//   4       4     run id (random per telemq-bench run; other runs' messages,
//                 e.g. retained ones left on the broker, are ignored)
//   8       4     publisher index (0..P-1 within the run)
//   12      4     reserved (0)
//   16      8     sequence number, per publisher, from 0
//   24      8     send time, ns, CLOCK_MONOTONIC (publisher and subscriber
//                 run on the same host, so the clocks agree)
//   32      ...   zero padding up to the configured payload size
//
// All integers little-endian (the host order on every machine we run on;
// the static_assert below keeps it honest).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace telemq::bench {

static_assert(std::endian::native == std::endian::little, "payload codec assumes little-endian");

inline constexpr uint32_t kPayloadMagic = 0x31425154;  // "TQB1" read as little-endian u32
inline constexpr size_t kPayloadHeaderSize = 32;

struct PayloadHeader {
  uint32_t run_id;
  uint32_t publisher;
  uint64_t seq;
  uint64_t send_time_ns;
};

// Writes the 32-byte header into `out` (which must hold kPayloadHeaderSize
// bytes); the caller owns the padding.
inline void WritePayloadHeader(const PayloadHeader& h, uint8_t* out) {
  const uint32_t magic = kPayloadMagic, reserved = 0;
  std::memcpy(out + 0, &magic, 4);
  std::memcpy(out + 4, &h.run_id, 4);
  std::memcpy(out + 8, &h.publisher, 4);
  std::memcpy(out + 12, &reserved, 4);
  std::memcpy(out + 16, &h.seq, 8);
  std::memcpy(out + 24, &h.send_time_ns, 8);
}

// The header of `payload` if it is a telemq-bench payload of run `run_id`;
// nullopt for anything else (too short, wrong magic, another run).
inline std::optional<PayloadHeader> ReadPayloadHeader(std::span<const uint8_t> payload,
                                                      uint32_t run_id) {
  if (payload.size() < kPayloadHeaderSize) return std::nullopt;
  uint32_t magic;
  PayloadHeader h;
  std::memcpy(&magic, payload.data(), 4);
  std::memcpy(&h.run_id, payload.data() + 4, 4);
  if (magic != kPayloadMagic || h.run_id != run_id) return std::nullopt;
  std::memcpy(&h.publisher, payload.data() + 8, 4);
  std::memcpy(&h.seq, payload.data() + 16, 8);
  std::memcpy(&h.send_time_ns, payload.data() + 24, 8);
  return h;
}

}  // namespace telemq::bench
