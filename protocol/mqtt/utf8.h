// telemq: MQTT UTF-8 string validation (MQTT 5.0 spec 1.5.4, 3.1.1 spec 1.5.3).
//
// A valid MQTT string is well-formed UTF-8 (no overlong forms, no code point
// above U+10FFFF), contains no U+0000 and no surrogate code points
// U+D800..U+DFFF, and is at most 65535 bytes long. The spec's "SHOULD NOT"
// rules (control characters, non-characters) are not enforced: a receiver
// MAY accept them and we do, so valid clients are never dropped.
//
// Telemetry strings are nearly always ASCII, so the validator checks 8 bytes
// per step and only decodes code points when it meets a non-ASCII byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace telemq::mqtt {

inline constexpr size_t kMaxStringLength = 65535;

// True when `s` is a valid MQTT UTF-8 string (see above).
bool IsValidMqttUtf8(std::string_view s);

// True when `s` is well-formed UTF-8 without U+0000 or surrogates, ignoring
// the length limit. Used for payloads with Payload Format Indicator = 1,
// which may be larger than 65535 bytes.
bool IsValidUtf8Payload(const uint8_t* data, size_t size);

namespace utf8_internal {

inline constexpr uint64_t kOnes = 0x0101010101010101ull;
inline constexpr uint64_t kHighs = 0x8080808080808080ull;

// Nonzero when some byte of `w` is zero (exact for the lowest such byte; used
// only as a yes/no test on ASCII words, where it is exact).
constexpr uint64_t HasZeroByte(uint64_t w) { return (w - kOnes) & ~w & kHighs; }

// Nonzero when some byte of `w` equals `c`.
constexpr uint64_t HasByte(uint64_t w, uint8_t c) { return HasZeroByte(w ^ (kOnes * c)); }

// Validates the multi-byte sequence starting at p[i] (p[i] >= 0x80) and
// returns its length, or 0 when it is ill-formed or a surrogate.
size_t MultiByteLength(const uint8_t* p, size_t i, size_t n);

}  // namespace utf8_internal
}  // namespace telemq::mqtt
