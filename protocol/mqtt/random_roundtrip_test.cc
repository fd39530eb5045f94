// Seeded randomized round trips: random valid packets -> encode -> decode.
#include "gtest/gtest.h"
#include "protocol/mqtt/decoder.h"
#include "protocol/mqtt/encoder.h"
#include "protocol/mqtt/random_packet.h"

namespace telemq::mqtt {
namespace {

using testing::RandomPacketGenerator;

constexpr uint64_t kSeeds = 20;
constexpr int kPacketsPerSeed = 500;

Role Receiver(Role sender) { return sender == Role::kClient ? Role::kServer : Role::kClient; }

TEST(RandomRoundTripTest, EncodeThenDecodeGivesTheSamePacket) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    RandomPacketGenerator gen(seed);
    for (Role sender : {Role::kClient, Role::kServer}) {
      for (ProtocolVersion v : {ProtocolVersion::kV311, ProtocolVersion::kV5}) {
        for (int i = 0; i < kPacketsPerSeed; ++i) {
          const Packet p = gen.Next(sender, v);
          std::vector<uint8_t> bytes(EncodedSize(p, v));
          ASSERT_FALSE(bytes.empty());
          ASSERT_EQ(Encode(p, v, bytes), bytes.size());
          const bool connect = TypeOf(p) == PacketType::kConnect;
          Decoder d(connect ? DecoderOptions{.role = Role::kServer}
                            : DecoderOptions{.role = Receiver(sender), .version = v});
          Packet back;
          const DecodeResult r = d.Decode(bytes, &back);
          ASSERT_TRUE(r.ok()) << "seed " << seed << " packet " << i << " "
                              << PacketTypeName(TypeOf(p)) << ": " << DecodeErrorName(r.error);
          ASSERT_EQ(r.consumed, bytes.size());
          ASSERT_TRUE(back == p) << "seed " << seed << " packet " << i << " "
                                 << PacketTypeName(TypeOf(p));
        }
      }
    }
  }
}

TEST(RandomRoundTripTest, StreamFedInRandomChunksDecodesInOrder) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    RandomPacketGenerator gen(seed * 7919);
    std::mt19937 chunk_rng(static_cast<uint32_t>(seed));
    for (Role sender : {Role::kClient, Role::kServer}) {
      for (ProtocolVersion v : {ProtocolVersion::kV311, ProtocolVersion::kV5}) {
        std::vector<Packet> packets;
        std::vector<uint8_t> stream;
        while (packets.size() < 100) {
          Packet p = gen.Next(sender, v);
          if (TypeOf(p) == PacketType::kConnect) continue;
          const size_t at = stream.size();
          stream.resize(at + EncodedSize(p, v));
          ASSERT_GT(Encode(p, v, std::span(stream).subspan(at)), 0u);
          packets.push_back(std::move(p));
        }
        Decoder d({.role = Receiver(sender), .version = v});
        size_t consumed = 0, available = 0, next = 0;
        while (next < packets.size()) {
          available = std::min(stream.size(), available + chunk_rng() % 64);
          for (;;) {
            Packet out;
            const DecodeResult r =
                d.Decode(std::span(stream).subspan(consumed, available - consumed), &out);
            if (r.status == DecodeStatus::kNeedMore) break;
            ASSERT_TRUE(r.ok()) << DecodeErrorName(r.error);
            ASSERT_TRUE(out == packets[next]) << "packet " << next;
            consumed += r.consumed;
            ++next;
          }
        }
        EXPECT_EQ(consumed, stream.size());
      }
    }
  }
}

}  // namespace
}  // namespace telemq::mqtt
