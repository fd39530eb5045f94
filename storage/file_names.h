// telemq storage: the names of a partition's files (docs/log_format.md).
//
//   00000000000000052113.log          segment with base offset 52113
//   00000000000000052113.idx          its sparse index (a cache)
//   00000000000000052113.idx.tmp      an index being written (removed on open)
//   00000000000000052113.log.repair   a repaired copy being put in place
//   00000000000000052113.log.corrupt  a quarantined segment (".corrupt.N" if taken)
//   next.zero                         the next segment, being zero-filled
//                                     (segment_preparer.h; removed on open)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace telemq::storage {

enum class FileKind : uint8_t {
  kOther,
  kSegment,
  kIndex,
  kIndexTemp,
  kRepair,
  kQuarantined,
  kPrepared,
};

inline constexpr char kPreparedFileName[] = "next.zero";

struct ParsedFileName {
  FileKind kind = FileKind::kOther;
  uint64_t base_offset = 0;
};

// 20 decimal digits: every offset below kMaxOffset fits.
std::string SegmentFileName(uint64_t base_offset);  // "<20 digits>.log"
std::string IndexFileName(uint64_t base_offset);    // "<20 digits>.idx"

// kOther for anything that is not one of the names above with a base offset
// below kMaxOffset (kPrepared has none: base_offset 0).
ParsedFileName ParseFileName(std::string_view name);

std::string JoinPath(std::string_view dir, std::string_view name);

}  // namespace telemq::storage
