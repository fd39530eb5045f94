// telemq-bench: a log-linear latency histogram in the style of HdrHistogram.
//
// Values are unsigned integers (nanoseconds in telemq-bench). Values below
// 128 get one bucket each; above that, each power of two is split into 64
// linear sub-buckets, so a reported percentile is within 1/64 (1.6 %) of the
// true value, over the whole 64-bit range, in a fixed 30 KiB of counters.
// Recording is one bit_width, a shift and an increment: no allocation, no
// branch on the value's magnitude beyond the < 128 test.
//
//   Histogram h;
//   h.Record(latency_ns);
//   other.Merge(h);
//   uint64_t p99 = other.Percentile(99.0);
//
// Not thread-safe: one histogram per thread, merged at the end.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace telemq::bench {

class Histogram {
 public:
  static constexpr int kSubBucketBits = 7;                        // 128 exact values
  static constexpr uint64_t kLinearLimit = 1u << kSubBucketBits;  // values < this: exact
  static constexpr uint64_t kHalf = kLinearLimit / 2;             // 64 sub-buckets per octave
  static constexpr size_t kBuckets = kLinearLimit + (64 - kSubBucketBits) * kHalf;

  Histogram() { Reset(); }

  void Record(uint64_t value) { RecordN(value, 1); }
  void RecordN(uint64_t value, uint64_t n);
  void Merge(const Histogram& other);
  void Reset();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double Mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }

  // The smallest recorded-bucket upper bound such that at least `percentile`
  // percent of the values are <= it, clamped to [min(), max()]. 0 when empty.
  // Percentile(100) == max().
  uint64_t Percentile(double percentile) const;

  // Bucket geometry, exposed for tests.
  static size_t BucketIndex(uint64_t value);
  static uint64_t BucketLow(size_t index);
  static uint64_t BucketHigh(size_t index);

 private:
  std::array<uint64_t, kBuckets> counts_;
  uint64_t count_;
  uint64_t sum_;  // wraps after 584 years of nanoseconds in one run; fine
  uint64_t min_;
  uint64_t max_;
};

}  // namespace telemq::bench
