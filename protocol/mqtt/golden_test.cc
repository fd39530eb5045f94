// Golden bytes: every packet type, both versions, decoded, re-encoded, fed
// byte by byte and back to back.
#include <string>

#include "gtest/gtest.h"
#include "protocol/mqtt/decoder.h"
#include "protocol/mqtt/encoder.h"
#include "protocol/mqtt/golden_packets.h"

namespace telemq::mqtt {
namespace {

using testing::DecoderFor;
using testing::GoldenPacket;
using testing::GoldenPackets;

class GoldenTest : public ::testing::TestWithParam<GoldenPacket> {};

TEST_P(GoldenTest, DecodesToExpectedPacket) {
  const GoldenPacket& g = GetParam();
  Decoder d = DecoderFor(g.role, g.version, TypeOf(g.packet));
  Packet p;
  const DecodeResult r = d.Decode(g.bytes, &p);
  ASSERT_EQ(r.status, DecodeStatus::kOk) << DecodeErrorName(r.error);
  EXPECT_EQ(r.consumed, g.bytes.size());
  EXPECT_TRUE(p == g.packet);
}

TEST_P(GoldenTest, EveryPrefixNeedsMore) {
  const GoldenPacket& g = GetParam();
  for (size_t n = 0; n < g.bytes.size(); ++n) {
    Decoder d = DecoderFor(g.role, g.version, TypeOf(g.packet));
    Packet p;
    const DecodeResult r = d.Decode(std::span(g.bytes).first(n), &p);
    ASSERT_EQ(r.status, DecodeStatus::kNeedMore) << "prefix " << n;
    // Once the fixed header is complete the total size is known.
    if (n >= 2 && (g.bytes[1] & 0x80) == 0) {
      EXPECT_EQ(r.needed, g.bytes.size());
    }
  }
}

TEST_P(GoldenTest, EncodesToGoldenBytes) {
  const GoldenPacket& g = GetParam();
  std::vector<uint8_t> out(EncodedSize(g.packet, g.version));
  ASSERT_EQ(Encode(g.packet, g.version, out), out.size());
  if (g.canonical) {
    EXPECT_EQ(out, g.bytes);
  }
  // Whatever the form, it decodes back to the same packet.
  Decoder d = DecoderFor(g.role, g.version, TypeOf(g.packet));
  Packet p;
  ASSERT_TRUE(d.Decode(out, &p).ok());
  EXPECT_TRUE(p == g.packet);
}

TEST_P(GoldenTest, DecodedPacketReEncodesToTheSameBytes) {
  // Decoded packets keep repeatable properties as views of the raw block:
  // the encoder must see them as well as caller-built ones.
  const GoldenPacket& g = GetParam();
  Decoder d = DecoderFor(g.role, g.version, TypeOf(g.packet));
  Packet p;
  ASSERT_TRUE(d.Decode(g.bytes, &p).ok());
  std::vector<uint8_t> out(EncodedSize(p, g.version));
  ASSERT_EQ(Encode(p, g.version, out), out.size());
  if (g.canonical) {
    EXPECT_EQ(out, g.bytes);
  }
}

TEST_P(GoldenTest, EncodeIntoTooSmallBufferWritesNothing) {
  const GoldenPacket& g = GetParam();
  std::vector<uint8_t> out(EncodedSize(g.packet, g.version) - 1, 0xAA);
  EXPECT_EQ(Encode(g.packet, g.version, out), 0u);
  for (uint8_t b : out) ASSERT_EQ(b, 0xAA);
}

TEST_P(GoldenTest, TrailingByteInRemainingLengthIsRejected) {
  // Growing the remaining length by one and appending a byte must not yield
  // a packet, except where a payload absorbs it (PUBLISH) or the packet
  // ends in a list (SUBACK/UNSUBACK reason codes).
  const GoldenPacket& g = GetParam();
  const PacketType t = TypeOf(g.packet);
  if (t == PacketType::kPublish || t == PacketType::kSuback || t == PacketType::kUnsuback ||
      g.bytes[1] >= 0x7F) {
    GTEST_SKIP();
  }
  std::vector<uint8_t> grown = g.bytes;
  grown[1]++;
  grown.push_back(0x00);
  Decoder d = DecoderFor(g.role, g.version, t);
  Packet p;
  const DecodeResult r = d.Decode(grown, &p);
  // A 5.0 ack or DISCONNECT/AUTH with a short form grows into a longer valid
  // form; the rest must be errors.
  if (r.ok()) {
    EXPECT_TRUE(g.version == ProtocolVersion::kV5 && t != PacketType::kConnect &&
                t != PacketType::kConnack && t != PacketType::kPingreq &&
                t != PacketType::kPingresp)
        << g.name;
  } else {
    EXPECT_EQ(r.status, DecodeStatus::kError) << g.name;
  }
}

std::string Name(const ::testing::TestParamInfo<GoldenPacket>& info) {
  return std::string(info.param.name);
}

INSTANTIATE_TEST_SUITE_P(AllPackets, GoldenTest, ::testing::ValuesIn(GoldenPackets()), Name);

TEST(GoldenBackToBackTest, DecodesPacketsInOrderWithConsumedCounts) {
  for (Role role : {Role::kServer, Role::kClient}) {
    for (ProtocolVersion v : {ProtocolVersion::kV311, ProtocolVersion::kV5}) {
      std::vector<uint8_t> stream;
      std::vector<const GoldenPacket*> expected;
      for (const GoldenPacket& g : GoldenPackets()) {
        if (g.role != role || g.version != v || TypeOf(g.packet) == PacketType::kConnect) continue;
        stream.insert(stream.end(), g.bytes.begin(), g.bytes.end());
        expected.push_back(&g);
      }
      ASSERT_GE(expected.size(), 3u);
      Decoder d({.role = role, .version = v});
      std::span<const uint8_t> rest(stream);
      for (const GoldenPacket* g : expected) {
        Packet p;
        const DecodeResult r = d.Decode(rest, &p);
        ASSERT_TRUE(r.ok()) << g->name << ": " << DecodeErrorName(r.error);
        ASSERT_EQ(r.consumed, g->bytes.size()) << g->name;
        EXPECT_TRUE(p == g->packet) << g->name;
        rest = rest.subspan(r.consumed);
      }
      EXPECT_TRUE(rest.empty());
    }
  }
}

TEST(GoldenBackToBackTest, ConnectThenPacketsOnAServerConnection) {
  for (ProtocolVersion v : {ProtocolVersion::kV311, ProtocolVersion::kV5}) {
    std::vector<uint8_t> stream;
    for (const GoldenPacket& g : GoldenPackets()) {
      if (g.role == Role::kServer && g.version == v &&
          (TypeOf(g.packet) == PacketType::kConnect ? stream.empty() : !stream.empty())) {
        stream.insert(stream.end(), g.bytes.begin(), g.bytes.end());
      }
    }
    Decoder d({.role = Role::kServer});
    std::span<const uint8_t> rest(stream);
    int packets = 0;
    while (!rest.empty()) {
      Packet p;
      const DecodeResult r = d.Decode(rest, &p);
      ASSERT_TRUE(r.ok()) << DecodeErrorName(r.error);
      rest = rest.subspan(r.consumed);
      ++packets;
    }
    EXPECT_EQ(d.version(), v);
    EXPECT_GT(packets, 3);
  }
}

}  // namespace
}  // namespace telemq::mqtt
