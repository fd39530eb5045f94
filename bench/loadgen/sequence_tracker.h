// telemq-bench: per-stream sequence accounting (loss, duplicates, reordering).
//
// Every publisher numbers its messages 0, 1, 2, ... in the payload. Each
// subscriber keeps one SequenceTracker per publisher it receives from and
// feeds it every sequence number it sees. At the end of a run, with the
// publisher's final count `published`:
//
//   distinct()            messages received at least once
//   duplicates()          receptions of a sequence number already seen
//   reordered()           messages that arrived after a later one (filled a gap)
//   Lost(published)       published - distinct(): never received
//
// Gaps are kept as a sorted list of missing half-open ranges, so memory is
// proportional to the number of holes, not to the number of messages; the
// common in-order case is one compare and one increment.
#pragma once

#include <cstdint>
#include <vector>

namespace telemq::bench {

class SequenceTracker {
 public:
  enum class Outcome {
    kInOrder,    // seq == next expected
    kAhead,      // seq > next expected: opened a gap (the skipped ones may come later)
    kReordered,  // seq < next expected and was missing: fills a gap
    kDuplicate,  // seq already received
  };

  Outcome Record(uint64_t seq);

  uint64_t received() const { return received_; }
  uint64_t distinct() const { return received_ - duplicates_; }
  uint64_t duplicates() const { return duplicates_; }
  uint64_t reordered() const { return reordered_; }
  // One past the highest sequence number seen: every message below it was
  // either received or skipped (possibly still in flight, for reordering).
  uint64_t next_expected() const { return next_; }
  // Messages below next_expected() not received (yet).
  uint64_t MissingBelowNext() const;
  // Messages never received, given the publisher's final count. A sequence
  // number >= published (impossible unless the payload lies) is not counted.
  uint64_t Lost(uint64_t published) const;

 private:
  struct Range {
    uint64_t begin;  // inclusive
    uint64_t end;    // exclusive
  };

  uint64_t next_ = 0;
  uint64_t received_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t reordered_ = 0;
  std::vector<Range> missing_;  // sorted, disjoint, all below next_
};

}  // namespace telemq::bench
