// telemq storage: verification of segment files, for tools (telemq-log) and
// for recovery. Reads only; never changes a file.
//
//   absl::StatusOr<SegmentScanResult> r = ScanSegmentFile(env, path, {
//       .on_record = [](const Record& rec) { ... decode rec.value ... }});
//   if (r->damaged()) std::cerr << r->Describe();  // "payload crc mismatch at byte 1048624; ..."
//
//   auto files = ListPartitionFiles(env, "data/p0");  // segments, indexes, quarantined files
//
// Thread: any, one call at a time per File.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/batch_format.h"
#include "storage/env.h"
#include "storage/file_names.h"

namespace telemq::storage {

inline constexpr uint64_t kNoPosition = UINT64_MAX;

struct SegmentScanResult {
  uint64_t base_offset = 0;  // from the file name
  uint64_t file_bytes = 0;
  // The prefix of good batches: header and payload CRCs, framing, offsets in
  // sequence from base_offset.
  uint64_t valid_bytes = 0;
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t end_offset = 0;  // one past the last good record (base_offset if none)
  int64_t first_timestamp_ns = 0;
  int64_t max_timestamp_ns = 0;

  // Why the good prefix ends before file_bytes (kOk: it does not). kEndOfData
  // means zeroes (preallocated space) inside the file size.
  ReadError stop = ReadError::kOk;
  // kEndOfData, and every byte from valid_bytes to file_bytes is zero: space
  // prepared and never written (segment_preparer.h), not damage. No resync.
  bool zero_tail = false;
  absl::Status io_status;  // when stop == kIoError
  // The resync scan after a stop: where the first complete, valid batch
  // (magic, header CRC, payload CRC) lies after the damage, or kNoPosition.
  // A valid batch there means the damage is not a torn tail.
  uint64_t next_valid_position = kNoPosition;
  // The largest end offset named by any batch header with a valid header CRC
  // anywhere in the file (the good prefix, the failing batch, the resync).
  uint64_t highest_offset_seen = 0;

  bool damaged() const { return stop != ReadError::kOk; }
  // "payload crc mismatch at byte 1048624 (valid batch follows at byte 2097200)".
  std::string Describe() const;
};

struct ScanVisitor {
  // Each batch of the good prefix, in order, with its byte position.
  std::function<void(uint64_t position, const BatchHeader& header)> on_batch;
  // Each record of the good prefix, in order (views valid during the call).
  std::function<void(const Record& record)> on_record;
};

// Scans `file` (a segment whose first record must have `base_offset`);
// batches ending beyond `max_end_offset` (the next segment's base) are an
// offset sequence error.
SegmentScanResult ScanSegment(const File& file, uint64_t base_offset, uint64_t max_end_offset,
                              const ScanVisitor& visitor = {});

// Opens `path` read-only and scans it; the base offset comes from its name
// ("<20 digits>.log", also accepted with a ".corrupt..." or ".repair" suffix).
absl::StatusOr<SegmentScanResult> ScanSegmentFile(Env* env, const std::string& path,
                                                  const ScanVisitor& visitor = {});

struct PartitionFileInfo {
  std::string name;
  FileKind kind = FileKind::kOther;
  uint64_t base_offset = 0;
  uint64_t bytes = 0;
};
// The partition's files (segments, indexes, quarantined and leftover files;
// not unrelated names), by base offset then kind. Does not open the
// partition for writing and takes no lock: run it on a stopped broker's
// directory or accept a moving picture.
absl::StatusOr<std::vector<PartitionFileInfo>> ListPartitionFiles(Env* env, const std::string& dir);

}  // namespace telemq::storage
