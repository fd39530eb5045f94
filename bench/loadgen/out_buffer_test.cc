#include "bench/loadgen/out_buffer.h"

#include <string>

#include "gtest/gtest.h"

namespace telemq::bench {
namespace {

void Append(OutBuffer& b, const std::string& s) {
  std::memcpy(b.Reserve(s.size()), s.data(), s.size());
  b.Commit(s.size());
}

std::string Pending(const OutBuffer& b) {
  auto p = b.Pending();
  return std::string(p.begin(), p.end());
}

TEST(OutBufferTest, KeepsBytesInOrderAcrossGrowth) {
  OutBuffer b;
  std::string all;
  for (int i = 0; i < 1000; ++i) {
    const std::string s = std::to_string(i) + ",";
    Append(b, s);
    all += s;
  }
  EXPECT_EQ(Pending(b), all);
}

TEST(OutBufferTest, PartialConsumeKeepsTheRest) {
  OutBuffer b;
  Append(b, "hello world");
  b.Consume(6);
  EXPECT_EQ(Pending(b), "world");
  Append(b, "!");
  EXPECT_EQ(Pending(b), "world!");
  b.Consume(6);
  EXPECT_TRUE(b.empty());
}

TEST(OutBufferTest, SlidingDownAfterConsumeKeepsPendingBytes) {
  OutBuffer b;
  Append(b, std::string(200, 'a'));  // capacity 256
  b.Consume(190);                    // 10 live bytes at offset 190
  Append(b, std::string(100, 'b'));  // needs room: slides or grows
  EXPECT_EQ(Pending(b), std::string(10, 'a') + std::string(100, 'b'));
}

TEST(OutBufferTest, ReleaseFreesAndStaysUsable) {
  OutBuffer b;
  Append(b, "x");
  b.Release();
  EXPECT_TRUE(b.empty());
  Append(b, "y");
  EXPECT_EQ(Pending(b), "y");
}

}  // namespace
}  // namespace telemq::bench
