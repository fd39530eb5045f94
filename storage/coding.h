// telemq storage: little-endian fixed-width and LEB128 varint encoding.
//
// Decoders take a bounded [p, limit) range and never read past `limit`; they
// return nullptr on truncated or over-long input.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace telemq::storage {

inline void StoreLe32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }  // little-endian host
inline void StoreLe64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline uint32_t LoadLe32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t LoadLe64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline void PutVarint64(std::string* dst, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  dst->append(buf, n);
}

inline int VarintLength(uint64_t v) {
  int n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// Decodes a varint of at most `max_bytes` bytes (10 for 64-bit, 5 for 32-bit
// values). Returns the position after it, or nullptr.
inline const char* GetVarint64(const char* p, const char* limit, uint64_t* v, int max_bytes = 10) {
  uint64_t result = 0;
  for (int shift = 0, i = 0; i < max_bytes && p < limit; shift += 7, ++i) {
    const uint64_t byte = static_cast<uint8_t>(*p++);
    if (i == 9 && byte > 1) return nullptr;  // more than 64 bits
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return p;
    }
  }
  return nullptr;
}

inline const char* GetVarint32(const char* p, const char* limit, uint32_t* v) {
  uint64_t wide;
  p = GetVarint64(p, limit, &wide, 5);
  if (p == nullptr || wide > UINT32_MAX) return nullptr;
  *v = static_cast<uint32_t>(wide);
  return p;
}

}  // namespace telemq::storage
