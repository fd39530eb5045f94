#include "bench/loadgen/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace telemq::bench {

size_t Histogram::BucketIndex(uint64_t value) {
  if (value < kLinearLimit) return static_cast<size_t>(value);
  // value has bit_width >= 8; keep its top 7 bits: a mantissa in [64, 128).
  const int shift = static_cast<int>(std::bit_width(value)) - kSubBucketBits;
  const uint64_t mantissa = value >> shift;
  return kLinearLimit + static_cast<size_t>(shift - 1) * kHalf + (mantissa - kHalf);
}

uint64_t Histogram::BucketLow(size_t index) {
  if (index < kLinearLimit) return index;
  const size_t rel = index - kLinearLimit;
  const int shift = static_cast<int>(rel / kHalf) + 1;
  const uint64_t mantissa = rel % kHalf + kHalf;
  return mantissa << shift;
}

uint64_t Histogram::BucketHigh(size_t index) {
  if (index < kLinearLimit) return index;
  if (index + 1 == kBuckets) return std::numeric_limits<uint64_t>::max();
  return BucketLow(index + 1) - 1;
}

void Histogram::RecordN(uint64_t value, uint64_t n) {
  if (n == 0) return;
  counts_[BucketIndex(value)] += n;
  count_ += n;
  sum_ += value * n;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::Merge(const Histogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::Reset() {
  counts_.fill(0);
  count_ = 0;
  sum_ = 0;
  min_ = std::numeric_limits<uint64_t>::max();
  max_ = 0;
}

uint64_t Histogram::Percentile(double percentile) const {
  if (count_ == 0) return 0;
  if (percentile >= 100.0) return max_;
  percentile = std::max(percentile, 0.0);
  // Rank of the value we want, 1-based: ceil(p/100 * count), at least 1.
  uint64_t rank =
      static_cast<uint64_t>(std::ceil(percentile / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(BucketHigh(i), min(), max_);
  }
  return max_;
}

}  // namespace telemq::bench
