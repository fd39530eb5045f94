#include "protocol/mqtt/utf8.h"

#include <cstring>

namespace telemq::mqtt {
namespace utf8_internal {

size_t MultiByteLength(const uint8_t* p, size_t i, size_t n) {
  const uint8_t b0 = p[i];
  auto cont = [&](size_t k, uint8_t lo, uint8_t hi) {
    return i + k < n && p[i + k] >= lo && p[i + k] <= hi;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1, 0x80, 0xBF) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    // E0: no overlong forms (second byte >= A0). ED: no surrogates (<= 9F).
    const uint8_t lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const uint8_t hi = b0 == 0xED ? 0x9F : 0xBF;
    return cont(1, lo, hi) && cont(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    // F0: no overlong forms (>= 90). F4: nothing above U+10FFFF (<= 8F).
    const uint8_t lo = b0 == 0xF0 ? 0x90 : 0x80;
    const uint8_t hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return cont(1, lo, hi) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;  // Stray continuation byte, C0/C1 overlong lead, or F5..FF.
}

}  // namespace utf8_internal

bool IsValidUtf8Payload(const uint8_t* p, size_t n) {
  using namespace utf8_internal;
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if ((w & kHighs) == 0) {
        if (HasZeroByte(w)) return false;
        i += 8;
        continue;
      }
    }
    const uint8_t b = p[i];
    if (b < 0x80) {
      if (b == 0) return false;
      ++i;
      continue;
    }
    const size_t len = MultiByteLength(p, i, n);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

bool IsValidMqttUtf8(std::string_view s) {
  return s.size() <= kMaxStringLength &&
         IsValidUtf8Payload(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace telemq::mqtt
