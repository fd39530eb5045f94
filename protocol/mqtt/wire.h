// telemq: internal byte readers and writers for the MQTT codec.
//
// Not part of the codec's public API (include decoder.h / encoder.h).
// Reader is bounds-checked: every read either succeeds or reports why it
// cannot (kFieldOverrun etc.) and leaves the packet unconsumed. Writer is NOT
// bounds-checked: the encoder sizes the packet first and writes only into a
// buffer it knows is large enough.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "protocol/mqtt/decode_error.h"
#include "protocol/mqtt/utf8.h"

namespace telemq::mqtt::wire {

inline constexpr uint32_t kMaxVarInt = 268'435'455;  // 0xFF 0xFF 0xFF 0x7F

// Bytes a variable byte integer takes (1..4). `v` must be <= kMaxVarInt.
constexpr size_t VarIntSize(uint32_t v) {
  return v < 128 ? 1 : v < 16'384 ? 2 : v < 2'097'152 ? 3 : 4;
}

// Decodes a variable byte integer at p[0..n). Returns the number of bytes
// used, 0 when more bytes are needed, or sets *error (and returns 0) when
// the encoding is longer than 4 bytes or not minimal.
inline size_t ParseVarInt(const uint8_t* p, size_t n, uint32_t* value, DecodeError* error,
                          DecodeError too_long) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) {
    if (i == n) return 0;
    const uint8_t b = p[i];
    v |= uint32_t{b & 0x7Fu} << (7 * i);
    if ((b & 0x80) == 0) {
      // A final zero byte after a continuation means a shorter form existed.
      if (i > 0 && b == 0) {
        *error = DecodeError::kNonMinimalVarInt;
        return 0;
      }
      *value = v;
      return i + 1;
    }
  }
  *error = too_long;
  return 0;
}

class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const uint8_t* pos() const { return p_; }

  bool ReadU8(uint8_t* v) {
    if (p_ == end_) return false;
    *v = *p_++;
    return true;
  }
  bool ReadU16(uint16_t* v) {
    if (remaining() < 2) return false;
    *v = static_cast<uint16_t>(p_[0] << 8 | p_[1]);
    p_ += 2;
    return true;
  }
  bool ReadU32(uint32_t* v) {
    if (remaining() < 4) return false;
    *v = uint32_t{p_[0]} << 24 | uint32_t{p_[1]} << 16 | uint32_t{p_[2]} << 8 | p_[3];
    p_ += 4;
    return true;
  }
  DecodeError ReadVarInt(uint32_t* v) {
    DecodeError err = DecodeError::kNone;
    const size_t used = ParseVarInt(p_, remaining(), v, &err, DecodeError::kMalformedVarInt);
    if (used == 0) return err == DecodeError::kNone ? DecodeError::kFieldOverrun : err;
    p_ += used;
    return DecodeError::kNone;
  }
  bool ReadBytes(size_t n, const uint8_t** out) {
    if (remaining() < n) return false;
    *out = p_;
    p_ += n;
    return true;
  }
  // Two-byte length + bytes, as used for Binary Data.
  bool ReadBinary(std::span<const uint8_t>* out) {
    uint16_t len = 0;
    const uint8_t* data = nullptr;
    if (!ReadU16(&len) || !ReadBytes(len, &data)) return false;
    *out = {data, len};
    return true;
  }
  // Two-byte length + bytes, not yet UTF-8 checked (topics validate in one pass).
  bool ReadRawString(std::string_view* out) {
    std::span<const uint8_t> b;
    if (!ReadBinary(&b)) return false;
    *out = {reinterpret_cast<const char*>(b.data()), b.size()};
    return true;
  }
  DecodeError ReadString(std::string_view* out) {
    if (!ReadRawString(out)) return DecodeError::kFieldOverrun;
    return IsValidMqttUtf8(*out) ? DecodeError::kNone : DecodeError::kInvalidUtf8;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

class Writer {
 public:
  explicit Writer(uint8_t* p) : p_(p) {}
  uint8_t* pos() const { return p_; }

  void U8(uint8_t v) { *p_++ = v; }
  void U16(uint16_t v) {
    p_[0] = static_cast<uint8_t>(v >> 8);
    p_[1] = static_cast<uint8_t>(v);
    p_ += 2;
  }
  void U32(uint32_t v) {
    p_[0] = static_cast<uint8_t>(v >> 24);
    p_[1] = static_cast<uint8_t>(v >> 16);
    p_[2] = static_cast<uint8_t>(v >> 8);
    p_[3] = static_cast<uint8_t>(v);
    p_ += 4;
  }
  void VarInt(uint32_t v) {
    do {
      uint8_t b = v & 0x7F;
      v >>= 7;
      if (v != 0) b |= 0x80;
      *p_++ = b;
    } while (v != 0);
  }
  void Bytes(const void* data, size_t n) {
    if (n != 0) std::memcpy(p_, data, n);
    p_ += n;
  }
  void String(std::string_view s) {
    U16(static_cast<uint16_t>(s.size()));
    Bytes(s.data(), s.size());
  }
  void Binary(std::span<const uint8_t> b) {
    U16(static_cast<uint16_t>(b.size()));
    Bytes(b.data(), b.size());
  }

 private:
  uint8_t* p_;
};

}  // namespace telemq::mqtt::wire
