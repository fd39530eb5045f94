#include "bench/loadgen/mqtt_wire.h"

#include <random>
#include <string>
#include <vector>

#include "bench/loadgen/payload.h"
#include "gtest/gtest.h"
#include "protocol/mqtt/encoder.h"

namespace telemq::bench {
namespace {

// What the broker sends a load-generator client, encoded by the codec.
std::vector<uint8_t> BrokerStream(int version, int publishes) {
  const auto v = version == 5 ? mqtt::ProtocolVersion::kV5 : mqtt::ProtocolVersion::kV311;
  std::vector<uint8_t> out;
  auto put = [&](const mqtt::Packet& p) {
    std::vector<uint8_t> buf(mqtt::EncodedSize(p, v));
    ASSERT_EQ(mqtt::Encode(p, v, buf), buf.size());
    out.insert(out.end(), buf.begin(), buf.end());
  };
  mqtt::Connack ca;
  ca.session_present = true;
  put(ca);
  mqtt::Suback sa;
  sa.packet_id = 1;
  sa.reason_codes.push_back(mqtt::ReasonCode::kGrantedQoS1);
  put(sa);
  for (int i = 0; i < publishes; ++i) {
    uint8_t payload[40] = {};
    WritePayloadHeader({7, 3, static_cast<uint64_t>(i), 1000u + i}, payload);
    mqtt::Publish p;
    p.topic = "sensors/3/temp";
    p.qos = static_cast<mqtt::QoS>(i % 3);
    p.packet_id = p.qos == mqtt::QoS::kAtMostOnce ? 0 : static_cast<uint16_t>(i + 1);
    p.payload = payload;
    put(p);
    mqtt::Puback ack;
    ack.packet_id = static_cast<uint16_t>(i + 1);
    put(ack);
  }
  mqtt::Pubrec rec;
  rec.packet_id = 9;
  put(rec);
  mqtt::Pubrel rel;
  rel.packet_id = 9;
  put(rel);
  mqtt::Pubcomp comp;
  comp.packet_id = 9;
  put(comp);
  put(mqtt::Pingresp{});
  return out;
}

struct Event {
  InKind kind;
  uint16_t packet_id;
  uint64_t seq;  // publish payload seq, else 0
  bool operator==(const Event&) const = default;
};

std::vector<Event> FeedInChunks(int version, const std::vector<uint8_t>& bytes,
                                const std::vector<size_t>& cuts) {
  FrameReader reader(version);
  std::vector<Event> events;
  size_t prev = 0;
  auto on = [&](const InPacket& p) {
    uint64_t seq = 0;
    if (p.kind == InKind::kPublish) {
      auto h = ReadPayloadHeader(p.payload, 7);
      EXPECT_TRUE(h.has_value());
      if (h) seq = h->seq;
    }
    events.push_back({p.kind, p.packet_id, seq});
  };
  for (size_t cut : cuts) {
    EXPECT_TRUE(reader.Feed(std::span(bytes).subspan(prev, cut - prev), on).ok());
    prev = cut;
  }
  EXPECT_TRUE(reader.Feed(std::span(bytes).subspan(prev), on).ok());
  EXPECT_EQ(reader.carried(), 0u);
  return events;
}

TEST(FrameReaderTest, DecodesEveryBrokerPacketAClientSees) {
  for (int version : {4, 5}) {
    const auto bytes = BrokerStream(version, 3);
    const auto events = FeedInChunks(version, bytes, {});
    ASSERT_EQ(events.size(), 2u + 2 * 3 + 4);
    EXPECT_EQ(events[0].kind, InKind::kConnack);
    EXPECT_EQ(events[1].kind, InKind::kSuback);
    EXPECT_EQ(events[2], (Event{InKind::kPublish, 0, 0}));
    EXPECT_EQ(events[4], (Event{InKind::kPublish, 2, 1}));
    EXPECT_EQ(events[5], (Event{InKind::kPuback, 2, 0}));
    EXPECT_EQ(events.back().kind, InKind::kPingresp);
  }
}

TEST(FrameReaderTest, ByteAtATimeGivesTheSamePackets) {
  const auto bytes = BrokerStream(4, 20);
  std::vector<size_t> cuts;
  for (size_t i = 1; i < bytes.size(); ++i) cuts.push_back(i);
  EXPECT_EQ(FeedInChunks(4, bytes, cuts), FeedInChunks(4, bytes, {}));
}

TEST(FrameReaderTest, RandomReadBoundariesGiveTheSamePackets) {
  const auto bytes = BrokerStream(5, 200);
  const auto whole = FeedInChunks(5, bytes, {});
  std::mt19937 rng(3);
  for (int round = 0; round < 100; ++round) {
    std::vector<size_t> cuts;
    size_t at = 0;
    while (true) {
      at += 1 + rng() % 300;
      if (at >= bytes.size()) break;
      cuts.push_back(at);
    }
    ASSERT_EQ(FeedInChunks(5, bytes, cuts), whole) << "round " << round;
  }
}

// 3.1.1 PUBLISHes take a fast path past the codec: it must read every form
// as the codec does (QoS, flags, a two-byte remaining length, an empty
// payload) and leave anything malformed to the codec.
TEST(FrameReaderTest, FastPublishPathReadsWhatTheCodecReads) {
  std::vector<uint8_t> bytes;
  auto add = [&](mqtt::Publish p) {
    std::vector<uint8_t> one(mqtt::EncodedSize(p, mqtt::ProtocolVersion::kV311));
    mqtt::Encode(p, mqtt::ProtocolVersion::kV311, one);
    bytes.insert(bytes.end(), one.begin(), one.end());
  };
  const std::string big(300, 'b');
  const std::vector<uint8_t> big_payload(big.begin(), big.end());
  add({.qos = mqtt::QoS::kAtMostOnce, .topic = "a/b"});
  add({.qos = mqtt::QoS::kAtLeastOnce, .topic = "t", .packet_id = 9, .payload = big_payload});
  add({.dup = true,
       .qos = mqtt::QoS::kExactlyOnce,
       .retain = true,
       .topic = "x/y/z",
       .packet_id = 65535,
       .payload = big_payload});
  std::vector<InPacket> got;
  FrameReader reader(4);
  ASSERT_TRUE(reader.Feed(bytes, [&](const InPacket& p) { got.push_back(p); }).ok());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].topic, "a/b");
  EXPECT_EQ(got[0].qos, 0);
  EXPECT_TRUE(got[0].payload.empty());
  EXPECT_EQ(got[1].packet_id, 9);
  EXPECT_EQ(got[1].payload.size(), 300u);
  EXPECT_EQ(got[2].topic, "x/y/z");
  EXPECT_EQ(got[2].qos, 2);
  EXPECT_TRUE(got[2].retain);
  EXPECT_TRUE(got[2].dup);
  EXPECT_EQ(got[2].packet_id, 65535);

  // Malformed PUBLISHes still reach the codec, which names the fault.
  for (std::vector<uint8_t> bad : {std::vector<uint8_t>{0x32, 0x04, 0x00, 0x01, 'a', 0x00},
                                   std::vector<uint8_t>{0x30, 0x01, 0x00},
                                   std::vector<uint8_t>{0x36, 0x05, 0x00, 0x01, 'a', 0x00, 0x01},
                                   std::vector<uint8_t>{0x30, 0x03, 0x00, 0x05, 'a'}}) {
    FrameReader r(4);
    EXPECT_FALSE(r.Feed(bad, [](const InPacket&) {}).ok()) << int{bad[0]};
  }
}

TEST(EncodeTest, AcksAreWhatTheBrokersDecoderReads) {
  for (int version : {4, 5}) {
    OutBuffer out;
    EncodeAck(out, AckKind::kPuback, 1);
    EncodeAck(out, AckKind::kPubrec, 2);
    EncodeAck(out, AckKind::kPubrel, 300);
    EncodeAck(out, AckKind::kPubcomp, 65535);
    mqtt::Decoder decoder(
        {.role = mqtt::Role::kServer,
         .version = version == 5 ? mqtt::ProtocolVersion::kV5 : mqtt::ProtocolVersion::kV311});
    auto bytes = out.Pending();
    std::vector<mqtt::Packet> got(4);
    for (mqtt::Packet& p : got) {
      auto r = decoder.Decode(bytes, &p);
      ASSERT_TRUE(r.ok()) << mqtt::DecodeErrorName(r.error);
      bytes = bytes.subspan(r.consumed);
    }
    EXPECT_TRUE(bytes.empty());
    EXPECT_EQ(std::get<mqtt::Puback>(got[0]).packet_id, 1);
    EXPECT_EQ(std::get<mqtt::Pubrec>(got[1]).packet_id, 2);
    EXPECT_EQ(std::get<mqtt::Pubrel>(got[2]).packet_id, 300);
    EXPECT_EQ(std::get<mqtt::Pubcomp>(got[3]).packet_id, 65535);
    for (const mqtt::Packet& p : got) {
      std::visit(
          [](const auto& a) {
            if constexpr (requires { a.reason_code; }) {
              EXPECT_EQ(a.reason_code, mqtt::ReasonCode::kSuccess);
            }
          },
          p);
    }
  }
}

TEST(FrameReaderTest, FastAckPathReadsWhatTheCodecReads) {
  for (auto version : {mqtt::ProtocolVersion::kV311, mqtt::ProtocolVersion::kV5}) {
    std::vector<uint8_t> bytes;
    auto add = [&](const mqtt::Packet& p) {
      std::vector<uint8_t> one(mqtt::EncodedSize(p, version));
      mqtt::Encode(p, version, one);
      bytes.insert(bytes.end(), one.begin(), one.end());
    };
    add(mqtt::Puback{.packet_id = 7});
    add(mqtt::Pubrec{.packet_id = 8});
    add(mqtt::Pubrel{.packet_id = 9});
    add(mqtt::Pubcomp{.packet_id = 10});
    if (version == mqtt::ProtocolVersion::kV5) {  // a reason code: the codec's path
      add(mqtt::Puback{.packet_id = 11, .reason_code = mqtt::ReasonCode::kNoMatchingSubscribers});
    }
    std::vector<InPacket> got;
    FrameReader reader(version == mqtt::ProtocolVersion::kV5 ? 5 : 4);
    ASSERT_TRUE(reader.Feed(bytes, [&](const InPacket& p) { got.push_back(p); }).ok());
    ASSERT_EQ(got.size(), version == mqtt::ProtocolVersion::kV5 ? 5u : 4u);
    const InKind kinds[] = {InKind::kPuback, InKind::kPubrec, InKind::kPubrel, InKind::kPubcomp};
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(got[i].kind, kinds[i]);
      EXPECT_EQ(got[i].packet_id, 7 + i);
      EXPECT_EQ(got[i].code, 0);
    }
    if (got.size() == 5) {
      EXPECT_EQ(got[4].kind, InKind::kPuback);
      EXPECT_EQ(got[4].code, 0x10);
    }
  }
  // Malformed acks still reach the codec: packet id 0, PUBREL without its
  // flag bits, PUBACK with reserved flag bits.
  for (std::vector<uint8_t> bad :
       {std::vector<uint8_t>{0x40, 0x02, 0x00, 0x00}, std::vector<uint8_t>{0x60, 0x02, 0x00, 0x01},
        std::vector<uint8_t>{0x42, 0x02, 0x00, 0x01}}) {
    FrameReader r(4);
    EXPECT_FALSE(r.Feed(bad, [](const InPacket&) {}).ok()) << int{bad[0]};
  }
}

TEST(FrameReaderTest, MalformedPacketIsAnErrorNamingTheCause) {
  FrameReader reader(4);
  const uint8_t bad[] = {0x00, 0x00};  // packet type 0 is reserved
  absl::Status st = reader.Feed(bad, [](const InPacket&) {});
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("malformed"), std::string::npos);
}

TEST(EncodeTest, PublishEncoderWritesWhatTheDecoderReadsBack) {
  const std::string long_topic(200, 't');  // remaining length takes two bytes
  for (int version : {4, 5}) {
    for (int qos : {0, 1, 2}) {
      for (std::string_view topic : {std::string_view("bench/0"), std::string_view(long_topic)}) {
        OutBuffer out;
        PublishEncoder enc(version, topic, qos, /*retain=*/qos == 2, 64);
        for (uint16_t pid = 1; pid <= 3; ++pid) {
          uint8_t* payload = enc.Append(out, static_cast<uint16_t>(pid * 257));
          WritePayloadHeader({7, 0, pid, 5}, payload);
          std::fill(payload + kPayloadHeaderSize, payload + 64, 0);
        }
        // A server-side decoder (as the broker) must accept exactly these.
        mqtt::Decoder decoder(
            {.role = mqtt::Role::kServer,
             .version = version == 5 ? mqtt::ProtocolVersion::kV5 : mqtt::ProtocolVersion::kV311});
        auto bytes = out.Pending();
        for (uint16_t pid = 1; pid <= 3; ++pid) {
          mqtt::Packet p;
          auto r = decoder.Decode(bytes, &p);
          ASSERT_TRUE(r.ok()) << mqtt::DecodeErrorName(r.error);
          const auto& pub = std::get<mqtt::Publish>(p);
          EXPECT_EQ(pub.topic, topic);
          EXPECT_EQ(static_cast<int>(pub.qos), qos);
          EXPECT_EQ(pub.retain, qos == 2);
          EXPECT_EQ(pub.packet_id, qos > 0 ? pid * 257 : 0);
          EXPECT_EQ(pub.payload.size(), 64u);
          EXPECT_EQ(ReadPayloadHeader(pub.payload, 7)->seq, pid);
          bytes = bytes.subspan(r.consumed);
        }
        EXPECT_TRUE(bytes.empty());
      }
    }
  }
}

}  // namespace
}  // namespace telemq::bench
