#include "bench/loadgen/payload.h"

#include <array>

#include "gtest/gtest.h"

namespace telemq::bench {
namespace {

TEST(PayloadTest, HeaderRoundTrips) {
  std::array<uint8_t, 64> buf{};
  WritePayloadHeader({0xabcdef01, 42, 1234567890123ull, 987654321ull}, buf.data());
  auto h = ReadPayloadHeader(buf, 0xabcdef01);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->publisher, 42u);
  EXPECT_EQ(h->seq, 1234567890123ull);
  EXPECT_EQ(h->send_time_ns, 987654321ull);
}

TEST(PayloadTest, LayoutIsLittleEndianAtDocumentedOffsets) {
  std::array<uint8_t, kPayloadHeaderSize> buf{};
  WritePayloadHeader({1, 2, 3, 4}, buf.data());
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + 4), "TQB1");
  EXPECT_EQ(buf[4], 1);   // run id
  EXPECT_EQ(buf[8], 2);   // publisher
  EXPECT_EQ(buf[16], 3);  // seq
  EXPECT_EQ(buf[24], 4);  // send time
}

TEST(PayloadTest, OtherRunsShortAndForeignPayloadsAreRejected) {
  std::array<uint8_t, 40> buf{};
  WritePayloadHeader({7, 0, 0, 0}, buf.data());
  EXPECT_FALSE(ReadPayloadHeader(buf, 8).has_value());  // another run
  EXPECT_FALSE(ReadPayloadHeader(std::span(buf).first(31), 7).has_value());
  buf[0] = 'X';
  EXPECT_FALSE(ReadPayloadHeader(buf, 7).has_value());
  EXPECT_FALSE(ReadPayloadHeader({}, 7).has_value());
}

}  // namespace
}  // namespace telemq::bench
