#include "bench/loadgen/proc_stats.h"

#include <unistd.h>

#include "gtest/gtest.h"

namespace telemq::bench {
namespace {

TEST(ProcStatsTest, ParsesCpuTicksAfterACommandNameWithSpacesAndParens) {
  const std::string stat =
      "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 "
      "200 18446744073709551615";
  const std::string status = "Name:\tx\nVmPeak:\t  9999 kB\nVmRSS:\t    2048 kB\nThreads:\t1\n";
  auto s = ParseProcFiles(stat, status, 100);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->cpu_ns, 3'000'000'000u);  // (250 + 50) ticks at 100 Hz
  EXPECT_EQ(s->rss_bytes, 2048u * 1024);
}

TEST(ProcStatsTest, MalformedStatIsAnError) {
  EXPECT_FALSE(ParseProcFiles("garbage", "", 100).ok());
  EXPECT_FALSE(ParseProcFiles("1 (x) S 1 2", "", 100).ok());
}

TEST(ProcStatsTest, SamplesThisProcess) {
  auto s = SampleProcess(getpid());
  ASSERT_TRUE(s.ok());
  EXPECT_GT(s->rss_bytes, 0u);
  EXPECT_FALSE(SampleProcess(-5).ok());
}

}  // namespace
}  // namespace telemq::bench
