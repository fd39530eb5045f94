// telemq storage: crc32c (Castagnoli), the checksum of every log batch and index.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it (chosen once at run
// time; only crc32c.cc is compiled for SSE4.2, through a target attribute) and
// a portable slicing table otherwise. Both give identical results.
//
//   uint32_t crc = crc32c::Value(data, n);
//   uint32_t crc2 = crc32c::Extend(crc, more, m);   // == Value(data ++ more)
//   StoreLe32(buf, crc32c::Mask(crc));                // when stored in checksummed data
#pragma once

#include <cstddef>
#include <cstdint>

namespace telemq::storage::crc32c {

// Returns the crc32c of data[0, n) appended to data whose crc32c was `crc`.
uint32_t Extend(uint32_t crc, const void* data, size_t n);

inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }

// The portable implementation, exposed so tests can compare it with the
// hardware one on the same input.
uint32_t ExtendPortable(uint32_t crc, const void* data, size_t n);

// True when Extend uses the SSE4.2 instruction.
bool HardwareAccelerated();

// A CRC stored inside data that is itself checksummed is masked (as leveldb
// does): computing the CRC of a string that contains its own CRC is weak.
constexpr uint32_t kMaskDelta = 0xa282ead8u;

constexpr uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }

constexpr uint32_t Unmask(uint32_t masked) {
  const uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace telemq::storage::crc32c
