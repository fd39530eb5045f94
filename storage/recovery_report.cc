// RecoveryReport::ToString: one line an operator can act on.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "storage/partition.h"

namespace telemq::storage {

std::string RecoveryReport::ToString(const std::string& dir) const {
  std::string s = absl::StrFormat(
      "partition %s: %u segment%s, %u bytes scanned in %.3f s, offsets [%u, %u)", dir, segments,
      segments == 1 ? "" : "s", bytes_scanned, seconds, start_offset, next_offset);
  if (torn_bytes > 0) {
    absl::StrAppend(&s, "; torn tail: ", torn_bytes, " bytes cut (", torn_reason, ")");
  }
  if (indexes_rebuilt > 0) {
    absl::StrAppend(&s, "; ", indexes_rebuilt, indexes_rebuilt == 1 ? " index" : " indexes",
                    " rebuilt");
  }
  for (const Quarantined& q : quarantined) {
    absl::StrAppend(&s, "; quarantined ", q.file, " (", q.reason, ")");
    if (q.lost_to > q.lost_from) {
      absl::StrAppend(&s, ": offsets [", q.lost_from, ", ", q.lost_to, ") may be lost");
    } else {
      absl::StrAppend(&s, ": no offset lost");
    }
  }
  if (torn_bytes == 0 && quarantined.empty()) absl::StrAppend(&s, "; clean");
  return s;
}

}  // namespace telemq::storage
