#include "bench/loadgen/report.h"

#include "gtest/gtest.h"

namespace telemq::bench {
namespace {

Summary Sample() {
  Summary s;
  s.window_s = 2;
  s.sent = 1000;
  s.delivered = 1000;
  s.expected = 1000;
  s.client_cpu_s = 0.0001;
  for (uint64_t v = 1; v <= 100; ++v) s.latency.Record(v);  // exact below 128 ns
  return s;
}

TEST(ReportTest, RatesAreCountsOverTheWindow) {
  Summary s = Sample();
  EXPECT_DOUBLE_EQ(s.PerSecond(s.sent), 500);
  EXPECT_DOUBLE_EQ(s.ClientNsPerMessage(), 100);  // 100 us of CPU / 1000 messages
}

TEST(ReportTest, JsonCarriesCountsPercentilesAndErrors) {
  Summary s = Sample();
  s.exit_code = 3;
  s.error = "broker \"closed\" it";
  const std::string j = FormatJson(s);
  EXPECT_NE(j.find("\"sent\": 1000"), std::string::npos) << j;
  EXPECT_NE(j.find("\"sent_per_s\": 500"), std::string::npos) << j;
  EXPECT_NE(j.find("\"p50_ns\": 50,"), std::string::npos) << j;
  EXPECT_NE(j.find("\"max_ns\": 100}"), std::string::npos) << j;
  EXPECT_NE(j.find("\"broker\": null"), std::string::npos) << j;
  EXPECT_NE(j.find("\"error\": \"broker \\\"closed\\\" it\""), std::string::npos) << j;
}

TEST(ReportTest, TableShowsDeliveredAndLatency) {
  const std::string t = FormatTable(Sample());
  EXPECT_NE(t.find("delivered         1000"), std::string::npos) << t;
  EXPECT_NE(t.find("p99 99 ns"), std::string::npos) << t;
}

}  // namespace
}  // namespace telemq::bench
