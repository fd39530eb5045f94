#include "bench/loadgen/sequence_tracker.h"

#include <algorithm>

namespace telemq::bench {

SequenceTracker::Outcome SequenceTracker::Record(uint64_t seq) {
  ++received_;
  if (seq == next_) {
    ++next_;
    return Outcome::kInOrder;
  }
  if (seq > next_) {
    missing_.push_back(Range{next_, seq});
    next_ = seq + 1;
    return Outcome::kAhead;
  }
  // seq < next_: either fills a hole or was seen already. Find the first
  // range whose end is past seq.
  auto it = std::upper_bound(missing_.begin(), missing_.end(), seq,
                             [](uint64_t s, const Range& r) { return s < r.end; });
  if (it == missing_.end() || seq < it->begin) {
    ++duplicates_;
    return Outcome::kDuplicate;
  }
  ++reordered_;
  if (it->begin == seq && it->end == seq + 1) {
    missing_.erase(it);
  } else if (it->begin == seq) {
    it->begin = seq + 1;
  } else if (it->end == seq + 1) {
    it->end = seq;
  } else {
    const Range tail{seq + 1, it->end};
    it->end = seq;
    missing_.insert(it + 1, tail);
  }
  return Outcome::kReordered;
}

uint64_t SequenceTracker::MissingBelowNext() const {
  uint64_t n = 0;
  for (const Range& r : missing_) n += r.end - r.begin;
  return n;
}

uint64_t SequenceTracker::Lost(uint64_t published) const {
  // Received distinct values are exactly [0, next_) minus the holes; clip to
  // [0, published) in case the tracker saw numbers the publisher never sent.
  uint64_t got = std::min(next_, published);
  for (const Range& r : missing_) {
    if (r.begin >= published) break;
    got -= std::min(r.end, published) - r.begin;
  }
  return published - got;
}

}  // namespace telemq::bench
