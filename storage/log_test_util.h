// telemq storage: helpers shared by the storage tests (test-only).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/batch_format.h"
#include "storage/mem_env.h"
#include "storage/partition.h"

namespace telemq::storage::testing {

// A record read back, owning its bytes.
struct OwnedRecord {
  uint64_t offset = 0;
  int64_t timestamp_ns = 0;
  uint8_t type = 0;
  std::string key;
  std::string value;
};

// Deterministic value for the record at `offset` (its size varies with it).
std::string ValueFor(uint64_t offset, size_t min_size = 8);
std::string KeyFor(uint64_t offset);
inline int64_t TimeFor(uint64_t offset) {
  return 1'000'000'000 + static_cast<int64_t>(offset) * 1000;
}

// One encoded batch of `count` records ValueFor/KeyFor/TimeFor(offset).
std::string MakeBatch(uint64_t base_offset, uint32_t count);
// Batches of `per_batch` records from `base_offset`, back to back.
std::string MakeSegment(uint64_t base_offset, uint32_t batches, uint32_t per_batch);

// Appends [next_offset, next_offset + count) with KeyFor/ValueFor/TimeFor.
void AppendRecords(Partition& p, uint64_t count);

// Every record `reader` returns until Next returns false, or its error.
absl::StatusOr<std::vector<OwnedRecord>> ReadRecords(LogReader& reader);
// Every record from `from` up to the written offset, or the reader's error.
absl::StatusOr<std::vector<OwnedRecord>> ReadAll(const Partition& p, uint64_t from);

// True when `r` is exactly what AppendRecords / MakeBatch wrote at r.offset.
bool IsExpected(const OwnedRecord& r);

// Byte surgery on a MemEnv file (the change counts as synced).
void FlipByte(MemEnv& env, const std::string& path, uint64_t position);
void StoreBytes(MemEnv& env, const std::string& path, uint64_t position, std::string_view bytes);
void TruncateFile(MemEnv& env, const std::string& path, uint64_t size);
std::string SegmentPath(const std::string& dir, uint64_t base_offset);
std::string IndexPath(const std::string& dir, uint64_t base_offset);

}  // namespace telemq::storage::testing
