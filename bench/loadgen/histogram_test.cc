#include "bench/loadgen/histogram.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace telemq::bench {
namespace {

TEST(HistogramTest, EmptyReportsZeros) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(50), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.min(), 0u);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(50), 50u);
  EXPECT_EQ(h.Percentile(90), 90u);
  EXPECT_EQ(h.Percentile(99), 99u);
  EXPECT_EQ(h.Percentile(100), 100u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_DOUBLE_EQ(h.Mean(), 50.5);
}

TEST(HistogramTest, BucketsTileTheRangeWithoutGaps) {
  EXPECT_EQ(Histogram::BucketLow(0), 0u);
  for (size_t i = 0; i + 1 < Histogram::kBuckets; ++i) {
    ASSERT_EQ(Histogram::BucketHigh(i) + 1, Histogram::BucketLow(i + 1)) << i;
    ASSERT_EQ(Histogram::BucketIndex(Histogram::BucketLow(i)), i);
    ASSERT_EQ(Histogram::BucketIndex(Histogram::BucketHigh(i)), i);
  }
  EXPECT_EQ(Histogram::BucketIndex(UINT64_MAX), Histogram::kBuckets - 1);
}

TEST(HistogramTest, BucketWidthIsWithinOneSixtyFourthOfItsValues) {
  for (size_t i = Histogram::kLinearLimit; i < Histogram::kBuckets - 1; ++i) {
    const double low = static_cast<double>(Histogram::BucketLow(i));
    const double width = static_cast<double>(Histogram::BucketHigh(i)) - low + 1;
    ASSERT_LE(width / low, 1.0 / 64 + 1e-12) << i;
  }
}

// Differential test against sorting: every percentile within 1/64 (the
// bucket precision) of the exact order statistic, on a latency-like
// log-normal sample.
TEST(HistogramTest, PercentilesMatchSortedSampleWithinBucketPrecision) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(11.0, 1.5);  // ~60 us median, long tail
  std::vector<uint64_t> values;
  Histogram h;
  for (int i = 0; i < 200000; ++i) {
    const uint64_t v = static_cast<uint64_t>(dist(rng)) + 1;
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    const size_t rank = static_cast<size_t>(std::ceil(p / 100 * values.size()));
    const double exact = static_cast<double>(values[rank - 1]);
    const double got = static_cast<double>(h.Percentile(p));
    EXPECT_GE(got, exact) << "p" << p;  // upper bucket bound: never under-reports
    EXPECT_LE(got, exact * (1 + 1.0 / 64) + 1) << "p" << p;
  }
  EXPECT_EQ(h.Percentile(100), values.back());
  EXPECT_EQ(h.min(), values.front());
}

TEST(HistogramTest, MergeEqualsRecordingEverythingInOne) {
  Histogram a, b, all;
  for (uint64_t v = 0; v < 5000; ++v) {
    const uint64_t x = v * v + 7;
    (v % 3 ? a : b).Record(x);
    all.Record(x);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.min(), all.min());
  for (double p : {50.0, 90.0, 99.0, 99.9}) EXPECT_EQ(a.Percentile(p), all.Percentile(p));
}

TEST(HistogramTest, PercentileIsClampedToRecordedMax) {
  Histogram h;
  h.Record(1000003);  // falls in a bucket whose upper bound is above it
  EXPECT_EQ(h.Percentile(50), 1000003u);
  EXPECT_EQ(h.Percentile(99.9), 1000003u);
}

}  // namespace
}  // namespace telemq::bench
