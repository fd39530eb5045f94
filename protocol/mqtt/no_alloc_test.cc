// The PUBLISH hot paths (decode, encode, header encode, payload format
// check) must not allocate. This file replaces the global operator new of the
// test binary with a counting one; counting is harmless for other tests.
#include <cstdlib>
#include <new>
#include <string>

#include "gtest/gtest.h"
#include "protocol/mqtt/decoder.h"
#include "protocol/mqtt/encoder.h"

namespace {
thread_local size_t g_allocations = 0;
}  // namespace

// These replace the global operators, so malloc/free is their pairing; GCC
// inlining them (at -O1, the sanitizer build) takes free() for a mismatch.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace telemq::mqtt {
namespace {

TEST(NoAllocationTest, PublishDecodeEncodeAndHeaderEncodeDoNotAllocate) {
  const std::string payload(64, 'x');
  static constexpr StringPair kPairs[] = {{"unit", "C"}};
  static constexpr uint32_t kIds[] = {7, 9};
  for (ProtocolVersion v : {ProtocolVersion::kV311, ProtocolVersion::kV5}) {
    Publish pub{.qos = QoS::kAtLeastOnce, .topic = "site1/building2/device3/temp", .packet_id = 5};
    pub.payload = {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()};
    pub.properties.SetInt(PropertyId::kPayloadFormatIndicator, 1);
    pub.properties.set_user_properties(kPairs);
    pub.properties.set_subscription_ids(kIds);
    uint8_t wire[512];
    uint8_t header[kMaxPublishHeaderStackSize];
    Decoder decoder({.role = Role::kClient, .version = v});
    Packet packet{std::in_place_type<Publish>};

    const size_t before = g_allocations;
    const size_t n = Encode(pub, v, wire);
    const size_t h = EncodePublishHeader(pub, v, header);
    const DecodeResult r = decoder.Decode(std::span<const uint8_t>(wire, n), &packet);
    const DecodeError format = CheckPayloadFormat(std::get<Publish>(packet));
    size_t user_properties = 0;
    for (const StringPair& up : std::get<Publish>(packet).properties.user_properties()) {
      user_properties += up.name.size();
    }
    const size_t after = g_allocations;

    EXPECT_EQ(after, before);
    ASSERT_TRUE(r.ok());
    EXPECT_GT(h, 0u);
    EXPECT_EQ(format, DecodeError::kNone);
    // 3.1.1 drops the properties; 5.0 carries everything.
    EXPECT_EQ(std::get<Publish>(packet).topic, pub.topic);
    if (v == ProtocolVersion::kV5) {
      EXPECT_TRUE(std::get<Publish>(packet) == pub);
    }
    EXPECT_EQ(user_properties, v == ProtocolVersion::kV5 ? 4u : 0u);
  }
}

}  // namespace
}  // namespace telemq::mqtt
