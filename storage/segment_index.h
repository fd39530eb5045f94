// telemq storage: the sparse offset/time index of one segment (the `.idx`
// file of docs/log_format.md), and the running facts about the segment it
// covers (valid bytes, end offset, first and largest timestamp).
//
// The index is a cache: built while batches are written or scanned, saved
// when a segment closes (write to temp + rename, no fsync), trusted on open
// only when it matches the segment file, rebuilt by a scan otherwise.
//
//   SegmentIndex index(/*base_offset=*/0, /*interval_bytes=*/64 << 10);
//   index.Add(position, header);                 // every batch, in order
//   SegmentIndex::Hint h = index.ForOffset(off);  // where a scan for `off` starts
//
// Not thread-safe; owned by the partition (one thread).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/batch_format.h"
#include "storage/env.h"

namespace telemq::storage {

inline constexpr uint32_t kIndexMagic = 0x58495154;  // "TQIX"
inline constexpr uint32_t kIndexVersion = 1;
inline constexpr size_t kIndexHeaderSize = 64;
inline constexpr size_t kIndexEntrySize = 16;

class SegmentIndex {
 public:
  struct Entry {
    uint32_t relative_offset = 0;  // batch base offset - segment base offset
    uint32_t position = 0;         // byte position of the batch in the segment
    // Largest timestamp of every batch before `position` (INT64_MIN for the
    // first), so no record before it has a time >= T when this is < T.
    int64_t max_timestamp_before = 0;
  };

  SegmentIndex(uint64_t base_offset, uint32_t interval_bytes);

  // Records the batch `h` that starts at byte `position`, just after the
  // previously added one. Adds an entry for the first batch and whenever at
  // least interval_bytes passed since the last entry.
  void Add(uint64_t position, const BatchHeader& h);

  // Where a scan starts: the byte position of an indexed batch and its base
  // offset (0 and the segment's base offset when no entry applies).
  struct Hint {
    uint64_t position = 0;
    uint64_t base_offset = 0;
  };
  // The last entry whose batch starts at or below `offset`: a scan from
  // there reaches the batch holding `offset`.
  Hint ForOffset(uint64_t offset) const;
  // The last entry whose max_timestamp_before is < t: no record before it
  // has a time >= t.
  Hint ForTime(int64_t t) const;

  uint64_t base_offset() const { return base_offset_; }
  uint32_t interval_bytes() const { return interval_bytes_; }
  uint64_t covered_bytes() const { return covered_bytes_; }  // valid segment bytes
  uint64_t end_offset() const { return end_offset_; }        // exclusive
  bool empty() const { return end_offset_ == base_offset_; }
  int64_t first_timestamp_ns() const { return first_timestamp_ns_; }  // 0 when empty
  int64_t max_timestamp_ns() const { return max_timestamp_ns_; }      // 0 when empty
  const std::vector<Entry>& entries() const { return entries_; }

  // The .idx file bytes.
  std::string Encode() const;
  // Parses and checks .idx bytes (magic, version, CRC, base offset, entry
  // order and bounds). The error says what is wrong.
  static absl::StatusOr<SegmentIndex> Decode(std::string_view bytes, uint64_t base_offset);

  friend bool operator==(const SegmentIndex& a, const SegmentIndex& b);

 private:
  uint64_t base_offset_;
  uint32_t interval_bytes_;
  uint64_t covered_bytes_ = 0;
  uint64_t end_offset_;
  int64_t first_timestamp_ns_ = 0;
  int64_t max_timestamp_ns_ = 0;
  uint64_t last_entry_position_ = 0;
  std::vector<Entry> entries_;
};

// Writes `index` to `path` through `path` + ".tmp" and a rename, without
// fsync (a lost or stale index is rebuilt).
absl::Status WriteIndexFile(Env* env, const std::string& path, const SegmentIndex& index);
// Reads and decodes the index at `path`.
absl::StatusOr<SegmentIndex> ReadIndexFile(Env* env, const std::string& path, uint64_t base_offset);

}  // namespace telemq::storage
