// Partition: Segments, size_bytes and ApplyRetention (whole closed segments,
// oldest first, by size and by broker time).
#include <algorithm>
#include <cstdint>

#include "storage/partition_impl.h"

namespace telemq::storage {

std::vector<SegmentInfo> Partition::Impl::Segments() const {
  std::vector<SegmentInfo> infos;
  infos.reserve(segments_.size());
  for (size_t i = 0; i < segments_.size(); ++i) {
    infos.push_back(segments_[i].Info(/*active=*/i + 1 == segments_.size()));
  }
  return infos;
}

uint64_t Partition::Impl::size_bytes() const {
  uint64_t total = 0;
  for (const Segment& s : segments_) total += s.bytes();
  return total;
}

RetentionResult Partition::Impl::ApplyRetention(const RetentionPolicy& policy, int64_t now_ns) {
  RetentionResult result;
  uint64_t total = size_bytes();
  // What the policy wants gone, judged on the partition as it would be once
  // every earlier segment went.
  const int64_t oldest_kept_ns = policy.max_age_ns > 0 && now_ns >= INT64_MIN + policy.max_age_ns
                                     ? now_ns - policy.max_age_ns
                                     : INT64_MIN;
  auto wanted_gone = [&](const Segment& s, uint64_t remaining) {
    const bool too_big = policy.max_bytes > 0 && remaining > policy.max_bytes;
    const bool too_old =
        policy.max_age_ns > 0 && !s.index.empty() && s.index.max_timestamp_ns() < oldest_kept_ns;
    return too_big || too_old;
  };
  size_t deleted = 0;
  bool blocked = false;  // a needed segment was kept: nothing after it may go
  // The active segment (the last) is never deleted.
  for (size_t i = 0; i + 1 < segments_.size(); ++i) {
    const Segment& s = segments_[i];
    if (!wanted_gone(s, total)) break;
    total -= s.bytes();
    const bool needed = s.end_offset() > policy.needed_from;
    if (blocked || (needed && !policy.force)) {
      blocked = true;
      ++result.kept_needed_segments;
      continue;
    }
    // The .log first: an .idx without its segment is removed on open.
    if (absl::Status st = env_->Remove(s.path); !st.ok()) {
      result.status = st;
      break;
    }
    env_->Remove(s.index_path).IgnoreError();
    if (needed) {
      if (result.lost_to == result.lost_from) {
        result.lost_from = std::max(s.base_offset(), policy.needed_from);
      }
      result.lost_to = s.end_offset();
    }
    ++result.deleted_segments;
    result.deleted_bytes += s.bytes();
    ++deleted;
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(deleted));
  result.start_offset = start_offset();
  return result;
}

}  // namespace telemq::storage
