#include "broker/persist/records.h"

#include <random>
#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "storage/coding.h"

namespace telemq::persist {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string_view Chars(std::span<const uint8_t> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}
std::string Join(const MessageValueParts& p) {
  return std::string(p.parts[0]) + std::string(p.parts[1]) + std::string(p.parts[2]);
}

TEST(MessageRecord, RoundTripsEveryField) {
  const MessageInit m{.topic = "site/1/temp",
                      .payload = Bytes("21.5"),
                      .properties = Bytes(std::string_view("\x07\x03\x00\x04text", 8)),
                      .qos = 2,
                      .retain = true,
                      .expiry_ns = 1'700'000'000'000'000'000};
  MessageValueParts parts;
  EncodeMessageValue(m, "dev-7", 513, &parts);
  const std::string value = Join(parts);
  MessageRecord r;
  ASSERT_TRUE(DecodeMessage(m.topic, value, &r));
  EXPECT_EQ(r.topic, "site/1/temp");
  EXPECT_EQ(Chars(r.payload), "21.5");
  EXPECT_EQ(Chars(r.properties), std::string_view("\x07\x03\x00\x04text", 8));
  EXPECT_EQ(r.qos, 2);
  EXPECT_TRUE(r.retain);
  EXPECT_EQ(r.expiry_ns, 1'700'000'000'000'000'000);
  EXPECT_EQ(r.origin_client, "dev-7");
  EXPECT_EQ(r.packet_id, 513);
}

TEST(MessageRecord, MinimalMessageHeaderIsThreeBytes) {
  MessageValueParts parts;
  EncodeMessageValue({.topic = "t", .payload = Bytes("x"), .qos = 1}, "", 0, &parts);
  EXPECT_EQ(parts.header.size(), 3u);     // flags, origin length 0, packet id 0
  const std::string value = Join(parts);  // r views it
  MessageRecord r;
  ASSERT_TRUE(DecodeMessage("t", value, &r));
  EXPECT_EQ(r.qos, 1);
  EXPECT_FALSE(r.retain);
  EXPECT_EQ(r.expiry_ns, 0);
  EXPECT_TRUE(r.properties.empty());
  EXPECT_EQ(Chars(r.payload), "x");
}

TEST(MessageRecord, EmptyPayloadIsARetainedClear) {
  MessageValueParts parts;
  EncodeMessageValue({.topic = "t", .qos = 0, .retain = true}, "c", 0, &parts);
  const std::string value = Join(parts);
  MessageRecord r;
  ASSERT_TRUE(DecodeMessage("t", value, &r));
  EXPECT_TRUE(r.retain);
  EXPECT_TRUE(r.payload.empty());
}

TEST(MessageRecord, RejectsUnknownFlagBits) {
  MessageRecord r;
  EXPECT_FALSE(DecodeMessage("t", std::string("\x21\x00\x00", 3), &r));
}

TEST(MessageRecord, RejectsQos3) {
  MessageRecord r;
  EXPECT_FALSE(DecodeMessage("t", std::string("\x03\x00\x00", 3), &r));
}

TEST(MessageRecord, RejectsOriginLongerThanTheValue) {
  MessageRecord r;
  EXPECT_FALSE(DecodeMessage("t",
                             std::string("\x01\x09"
                                         "ab",
                                         4),
                             &r));
}

TEST(MessageRecord, RejectsPacketIdAbove65535) {
  std::string v("\x02\x00", 2);
  storage::PutVarint64(&v, 65536);
  MessageRecord r;
  EXPECT_FALSE(DecodeMessage("t", v, &r));
}

TEST(MessageRecord, RejectsExpiryFlagWithZeroExpiry) {
  MessageRecord r;
  EXPECT_FALSE(DecodeMessage("t", std::string("\x09\x00\x00\x00", 4), &r));
}

TEST(MessageRecord, RejectsPropertiesFlagWithoutProperties) {
  MessageRecord r;
  EXPECT_FALSE(DecodeMessage("t", std::string("\x11\x00\x00\x00", 4), &r));
  EXPECT_FALSE(DecodeMessage("t",
                             std::string("\x11\x00\x00\x05"
                                         "ab",
                                         6),
                             &r));
}

TEST(MessageRecord, RejectsEmptyValue) {
  MessageRecord r;
  EXPECT_FALSE(DecodeMessage("t", "", &r));
}

// What a message record must hold to be delivered: found by recovery_fuzz,
// where each of these reached subscribers and broke their connections.
bool DecodesWith(std::string_view topic, std::string_view properties,
                 std::string_view payload = "x") {
  MessageValueParts parts;
  EncodeMessageValue(
      {.topic = topic, .payload = Bytes(payload), .properties = Bytes(properties), .qos = 1}, "", 0,
      &parts);
  const std::string value = Join(parts);
  MessageRecord r;
  return DecodeMessage(topic, value, &r);
}

TEST(MessageRecord, RejectsTopicNamesAPublishCannotCarry) {
  for (std::string_view topic :
       {std::string_view(""), std::string_view("a/+"), std::string_view("#"),
        std::string_view("a/#/b"), std::string_view("a\0b", 3), std::string_view("\xff"),
        std::string_view("\xed\xa0\x80")}) {
    EXPECT_FALSE(DecodesWith(topic, "")) << topic;
  }
  EXPECT_TRUE(DecodesWith("a//b", ""));
  EXPECT_TRUE(DecodesWith("$SYS/x", ""));
}

TEST(MessageRecord, RejectsPropertiesAPublishCannotCarry) {
  using std::string_view;
  EXPECT_TRUE(DecodesWith("t", string_view("\x02\x01\x01", 3), "utf-8 text"));
  EXPECT_TRUE(DecodesWith("t", string_view("\x07\x26\x00\x01k\x00\x01v", 8)));
  EXPECT_FALSE(DecodesWith("t", string_view("\x03\x23\x00\x05", 4)));          // topic alias
  EXPECT_FALSE(DecodesWith("t", string_view("\x05\x02\x00\x00\x00\x0a", 6)));  // expiry
  EXPECT_FALSE(DecodesWith("t", string_view("\x02\x0b\x07", 3)));              // subscription id
  EXPECT_FALSE(DecodesWith("t", string_view("\x05\x11\x00\x00\x00\x0a", 6)));  // not PUBLISH's
  EXPECT_FALSE(DecodesWith("t", string_view("\x05\x01", 2)));                  // truncated
  EXPECT_FALSE(DecodesWith("t", string_view("\x02\x01\x00\x00", 4)));          // trailing byte
  EXPECT_FALSE(DecodesWith("t", string_view("\x02\x01\x01", 3), "\xff\xfe"));  // not UTF-8
}

TEST(SessionRecord, RoundTripsSubscriptionsAndOptions) {
  session::SessionState s;
  s.version = mqtt::ProtocolVersion::kV5;
  s.expiry_s = 3600;
  s.subscriptions.push_back({"a/+/c", {.qos = 1, .no_local = true, .subscription_id = 7}});
  s.subscriptions.push_back({"$share/g/x/#", {.qos = 2, .retain_as_published = true}});
  session::SessionState d;
  ASSERT_TRUE(DecodeSessionValue(EncodeSessionValue(s), &d));
  EXPECT_EQ(d.version, mqtt::ProtocolVersion::kV5);
  EXPECT_EQ(d.expiry_s, 3600u);
  ASSERT_EQ(d.subscriptions.size(), 2u);
  EXPECT_EQ(d.subscriptions[0].first, "a/+/c");
  EXPECT_EQ(d.subscriptions[0].second.qos, 1);
  EXPECT_TRUE(d.subscriptions[0].second.no_local);
  EXPECT_FALSE(d.subscriptions[0].second.retain_as_published);
  EXPECT_EQ(d.subscriptions[0].second.subscription_id, 7u);
  EXPECT_EQ(d.subscriptions[1].first, "$share/g/x/#");
  EXPECT_EQ(d.subscriptions[1].second.qos, 2);
  EXPECT_TRUE(d.subscriptions[1].second.retain_as_published);
}

TEST(SessionRecord, NeverExpiringSessionKeepsUint32Max) {
  session::SessionState s;
  s.expiry_s = UINT32_MAX;
  session::SessionState d;
  ASSERT_TRUE(DecodeSessionValue(EncodeSessionValue(s), &d));
  EXPECT_EQ(d.expiry_s, UINT32_MAX);
  EXPECT_EQ(d.version, mqtt::ProtocolVersion::kV311);
}

TEST(SessionRecord, RejectsBadProtocolLevel) {
  session::SessionState d;
  EXPECT_FALSE(DecodeSessionValue(std::string("\x03\x00\x00", 3), &d));
}

TEST(SessionRecord, RejectsTrailingBytes) {
  session::SessionState s;
  std::string v = EncodeSessionValue(s) + "x";
  session::SessionState d;
  EXPECT_FALSE(DecodeSessionValue(v, &d));
}

TEST(SessionRecord, RejectsQos3AndUnknownOptionBits) {
  session::SessionState d;
  EXPECT_FALSE(DecodeSessionValue(std::string("\x04\x00\x01\x01"
                                              "a\x03\x00",
                                              7),
                                  &d));
  EXPECT_FALSE(DecodeSessionValue(std::string("\x04\x00\x01\x01"
                                              "a\x41\x00",
                                              7),
                                  &d));
}

bool DecodesWithSubscription(std::string_view filter, uint32_t id = 0) {
  session::SessionState s;
  s.subscriptions.push_back({std::string(filter), {.qos = 1, .subscription_id = id}});
  session::SessionState d;
  return DecodeSessionValue(EncodeSessionValue(s), &d);
}

TEST(SessionRecord, RejectsFiltersASubscribeCannotCarry) {
  for (std::string_view filter :
       {std::string_view(""), std::string_view("a/#/b"), std::string_view("+x"),
        std::string_view("a#"), std::string_view("$share//a"), std::string_view("$share/g"),
        std::string_view("$share/g+/a"), std::string_view("a\0", 2),
        std::string_view("\xc3\x28")}) {
    EXPECT_FALSE(DecodesWithSubscription(filter)) << filter;
  }
  EXPECT_TRUE(DecodesWithSubscription("+/+/#"));
  EXPECT_TRUE(DecodesWithSubscription("$share/g/a/#"));
}

TEST(SessionRecord, RejectsSubscriptionIdAbove268435455) {
  EXPECT_TRUE(DecodesWithSubscription("a", 268435455));
  EXPECT_FALSE(DecodesWithSubscription("a", 268435456));
}

TEST(SessionRecord, RejectsCountBeyondTheValue) {
  session::SessionState d;
  EXPECT_FALSE(DecodeSessionValue(std::string("\x04\x00\x7f", 3), &d));
}

TEST(SessionRecord, RejectsClientIdsNoConnectCarries) {
  const std::string value = EncodeSessionValue({});
  session::SessionState d;
  ASSERT_TRUE(DecodeSession("sensor-1", value, &d));
  EXPECT_EQ(d.client_id, "sensor-1");
  for (std::string_view id : {std::string_view(""), std::string_view("a\0b", 3),
                              std::string_view("\xc3\x28"), std::string_view("\xed\xa0\x80")}) {
    EXPECT_FALSE(DecodeSession(id, value, &d)) << absl::CHexEscape(std::string(id));
  }
}

TEST(ConsumedRecord, RoundTrips) {
  const std::vector<uint64_t> in = {0, 12, 1ull << 40};
  std::vector<uint64_t> out;
  ASSERT_TRUE(DecodeConsumedValue(EncodeConsumedValue(in), &out));
  EXPECT_EQ(out, in);
}

TEST(ConsumedRecord, RejectsMoreThan64Partitions) {
  std::vector<uint64_t> out;
  EXPECT_FALSE(DecodeConsumedValue(EncodeConsumedValue(std::vector<uint64_t>(65, 1)), &out));
}

TEST(Qos2ReleaseRecord, RoundTripsAndRejectsZero) {
  uint16_t id = 0;
  ASSERT_TRUE(DecodeQos2ReleaseValue(EncodeQos2ReleaseValue(65535), &id));
  EXPECT_EQ(id, 65535);
  EXPECT_FALSE(DecodeQos2ReleaseValue(EncodeQos2ReleaseValue(0), &id));
}

TEST(Qos2OutRecord, RoundTripsBothPhases) {
  session::OutboundQos2 o;
  ASSERT_TRUE(DecodeQos2OutValue(
      EncodeQos2OutValue({.packet_id = 300, .partition = 3, .offset = 1ull << 40}), &o));
  EXPECT_EQ(o.packet_id, 300);
  EXPECT_FALSE(o.released);
  EXPECT_EQ(o.partition, 3u);
  EXPECT_EQ(o.offset, 1ull << 40);
  const std::string released = EncodeQos2OutValue({.packet_id = 9, .released = true});
  EXPECT_EQ(released.size(), 2u);  // no message position
  ASSERT_TRUE(DecodeQos2OutValue(released, &o));
  EXPECT_EQ(o.packet_id, 9);
  EXPECT_TRUE(o.released);
}

TEST(Qos2OutRecord, RejectsZeroIdUnknownPhaseAndTrailingBytes) {
  session::OutboundQos2 o;
  EXPECT_FALSE(DecodeQos2OutValue(EncodeQos2OutValue({.packet_id = 0, .released = true}), &o));
  std::string bad_phase = EncodeQos2OutValue({.packet_id = 1, .released = true});
  bad_phase[1] = 2;
  EXPECT_FALSE(DecodeQos2OutValue(bad_phase, &o));
  EXPECT_FALSE(
      DecodeQos2OutValue(EncodeQos2OutValue({.packet_id = 1, .released = true}) + "x", &o));
  std::string truncated = EncodeQos2OutValue({.packet_id = 1, .partition = 1, .offset = 5});
  truncated.pop_back();
  EXPECT_FALSE(DecodeQos2OutValue(truncated, &o));
}

TEST(Qos2OutPendingRecord, RoundTripsEntriesInOrder) {
  const std::vector<session::OutboundQos2> in = {{.packet_id = 1, .released = true},
                                                 {.packet_id = 2, .partition = 1, .offset = 7}};
  std::vector<session::OutboundQos2> out;
  ASSERT_TRUE(DecodeQos2OutPendingValue(EncodeQos2OutPendingValue(in), &out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].released);
  EXPECT_EQ(out[1].packet_id, 2);
  EXPECT_EQ(out[1].offset, 7u);
  ASSERT_TRUE(DecodeQos2OutPendingValue(EncodeQos2OutPendingValue({}), &out));
  EXPECT_TRUE(out.empty());
  std::string short_count = EncodeQos2OutPendingValue(in);
  short_count[0] = 3;  // says three entries, holds two
  EXPECT_FALSE(DecodeQos2OutPendingValue(short_count, &out));
}

// Arbitrary bytes (a damaged record that passed no CRC is impossible, but
// the decoders must not rely on that) never crash a decoder.
TEST(Records, ArbitraryBytesNeverCrashDecoders) {
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string v(rng() % 24, '\0');
    for (char& c : v) c = static_cast<char>(rng());
    MessageRecord m;
    session::SessionState s;
    std::vector<uint64_t> consumed;
    uint16_t id;
    (void)DecodeMessage("t", v, &m);
    (void)DecodeSessionValue(v, &s);
    (void)DecodeConsumedValue(v, &consumed);
    (void)DecodeQos2ReleaseValue(v, &id);
    session::OutboundQos2 o;
    std::vector<session::OutboundQos2> entries;
    (void)DecodeQos2OutValue(v, &o);
    (void)DecodeQos2OutPendingValue(v, &entries);
  }
}

}  // namespace
}  // namespace telemq::persist
