// telemq storage: opening a partition directory after a clean shutdown or a
// crash (docs/log_format.md, "Recovery"). Internal to storage/; the entry
// point is Partition::Open.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/env.h"
#include "storage/partition.h"
#include "storage/segment.h"

namespace telemq::storage {

struct RecoveredPartition {
  // Oldest first. The last is the active segment: its file is open
  // read-write, every byte of it is valid and synced, and it has room.
  std::vector<Segment> segments;
  uint64_t next_offset = 0;
};

// Repairs and reports as the format says; fails only when the directory
// cannot be used (a file cannot be listed, opened, read, renamed, created).
absl::StatusOr<RecoveredPartition> RecoverPartition(Env* env, const PartitionOptions& options,
                                                    RecoveryReport* report);

}  // namespace telemq::storage
