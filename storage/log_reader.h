// telemq storage: reading a chain of segments, shared by Partition
// (NewReader, OffsetForTime) and PartitionReader (internal to storage/).
//
//   std::vector<ReadPart> parts = ...;  // ascending base offsets
//   std::unique_ptr<LogReader> r = NewChainReader(env, std::move(parts), from, limit);
//   absl::StatusOr<TimeSearch> t = SearchTime(env, parts[i], timestamp_ns);
//
// Both open their own files (read-only) and reference nothing else, so they
// may run on any thread while the segments' owner appends.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/env.h"
#include "storage/partition.h"
#include "storage/segment_index.h"

namespace telemq::storage {

// One segment as a reader sees it, fixed when the reader is created.
struct ReadPart {
  // Where the part's readable bytes end, and what a stop before that means.
  enum class End : uint8_t {
    // At `bytes`, known valid (the writer's count, or a trusted index's).
    kValidBytes,
    // At the file's size when it is opened: a closed segment without a
    // trusted index. A stop before it is damage.
    kFileSize,
    // Nowhere yet: the segment may still be written. A stop that a torn or
    // unfinished write can leave (zeroes, a short or half-copied batch, a
    // CRC mismatch) is the end for now, and a later read goes on from there;
    // a complete batch with good CRCs that is misplaced or misframed is
    // damage, as in recovery.
    kTail,
  };
  std::string path;
  uint64_t base_offset = 0;
  End end = End::kValidBytes;
  uint64_t bytes = 0;        // kValidBytes only
  SegmentIndex::Hint start;  // where reading the part begins
};

// Records [from, limit) of `parts`, in offset order, skipping offsets between
// parts (a range lost to a quarantine). A part whose file is gone when the
// reader reaches it (deleted by retention) ends the read with kOutOfRange;
// damage is kDataLoss naming the file, the byte position and the kind. After
// Next returned false at the end of a kTail part, a later call returns the
// records completed since.
std::unique_ptr<LogReader> NewChainReader(Env* env, std::vector<ReadPart> parts, uint64_t from,
                                          uint64_t limit);

struct TimeSearch {
  bool found = false;
  // The first record at or after the time, or (not found) the end offset of
  // the part's readable batches.
  uint64_t offset = 0;
};
// Scans `part` from its start for the first record whose time is >= t. Whole
// batches whose largest time is below t are skipped by their header.
absl::StatusOr<TimeSearch> SearchTime(Env* env, const ReadPart& part, int64_t t);

}  // namespace telemq::storage
