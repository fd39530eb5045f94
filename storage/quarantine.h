// telemq storage: setting a damaged segment aside (internal to storage/).
//
// QuarantineSegment keeps the damaged file for the operator and telemq-log as
// "<name>.log.corrupt" (".corrupt.1", ... if taken; never read again) and puts
// a copy of its valid prefix in its place, in an order that survives a crash
// at any step:
//   1. copy the prefix to "<name>.log.repair", fdatasync it;
//   2. rename "<name>.log" -> "<name>.log.corrupt";
//   3. rename "<name>.log.repair" -> "<name>.log" (skipped for an empty prefix);
//   4. fsync the directory.
// A crash between 2 and 3 leaves a .repair without its .log: recovery finishes
// the move (FinishInterruptedRepair). A .repair beside its .log is removed.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "storage/env.h"

namespace telemq::storage {

// Returns the name (not path) of the quarantined file.
absl::StatusOr<std::string> QuarantineSegment(Env* env, const std::string& dir,
                                              uint64_t base_offset, const File& damaged,
                                              uint64_t valid_bytes);

// Completes or discards the leftover "<base>.log.repair" of an interrupted
// quarantine; true when it became "<base>.log".
absl::StatusOr<bool> FinishInterruptedRepair(Env* env, const std::string& dir,
                                             uint64_t base_offset);

}  // namespace telemq::storage
