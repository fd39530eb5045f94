// telemq storage: one segment as the partition tracks it (internal to
// storage/).
//
// A segment's facts (valid bytes, end offset, timestamps) live in its
// SegmentIndex, which covers exactly the bytes known good: written by this
// process, or validated (or trusted through a matching .idx) on open.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/env.h"
#include "storage/partition.h"
#include "storage/segment_index.h"
#include "storage/segment_preparer.h"

namespace telemq::storage {

struct Segment {
  Segment(const std::string& dir, uint64_t base_offset, uint32_t index_interval_bytes);

  uint64_t base_offset() const { return index.base_offset(); }
  uint64_t end_offset() const { return index.end_offset(); }
  uint64_t bytes() const { return index.covered_bytes(); }
  SegmentInfo Info(bool active) const;

  std::string path;        // <dir>/<base>.log
  std::string index_path;  // <dir>/<base>.idx
  SegmentIndex index;
  std::unique_ptr<File> file;  // open read-write for the active segment only
  uint64_t synced_bytes = 0;   // active: bytes known to be fdatasync'ed
};

// Creates an empty segment file (kCreateFresh: never clobbers one),
// preallocates it (best effort) and syncs the directory, so its name is
// durable before any record in it counts as durable. With a `preparer`
// holding a ready file, that zero-filled file is renamed into place instead.
absl::StatusOr<Segment> CreateSegment(Env* env, const PartitionOptions& options,
                                      uint64_t base_offset, SegmentPreparer* preparer = nullptr);

// Saves the segment's index (a cache: write to temp + rename, no fsync).
absl::Status SaveIndex(Env* env, const Segment& segment);

}  // namespace telemq::storage
