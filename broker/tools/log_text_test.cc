#include "broker/tools/log_text.h"

#include <string>

#include "broker/persist/records.h"
#include "broker/tools/json_reader.h"
#include "gtest/gtest.h"

namespace telemq::tools {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A message record as the broker writes it; `value` keeps the bytes.
struct MessageRecord {
  std::string value;
  storage::Record record;
};
MessageRecord Message(std::string_view topic, std::string_view payload,
                      std::string_view origin = "pub") {
  persist::MessageValueParts parts;
  persist::EncodeMessageValue({.topic = topic, .payload = Bytes(payload), .qos = 1}, origin, 7,
                              &parts);
  MessageRecord m;
  for (std::string_view part : parts.parts) m.value.append(part);
  m.record = {.offset = 42,
              .timestamp_ns = 1'795'900'000'000'000'000,
              .type = persist::kRecordMessage,
              .key = topic};
  return m;
}

TEST(DescribeRecord, ShowsAMessageAndItsTextPayload) {
  MessageRecord m = Message("plant/1/temp", "21.5");
  m.record.value = m.value;
  EXPECT_EQ(DescribeRecord(m.record),
            "topic=plant/1/temp qos=1 from=pub packet_id=7 bytes=4 payload=21.5");
}

TEST(DescribeRecord, ABinaryPayloadIsBase64) {
  MessageRecord m = Message("t", std::string_view("\x00\xff", 2));
  m.record.value = m.value;
  EXPECT_EQ(DescribeRecord(m.record),
            "topic=t qos=1 from=pub packet_id=7 bytes=2 payload=base64:AP8=");
}

// A dump is one line per record: what could break the line, or the
// terminal, is printed as hex.
TEST(DescribeRecord, ControlCharactersAndBadUtf8AreHex) {
  MessageRecord m = Message("a/\nb", "x\ny", std::string_view("c\x1b[2J", 5));
  m.record.value = m.value;
  EXPECT_EQ(DescribeRecord(m.record),
            "topic=hex:612f0a62 qos=1 from=hex:631b5b324a packet_id=7 bytes=3 payload=base64:eAp5");

  const storage::Record consumed{.type = persist::kRecordSessionEnd, .key = "\xc3\x28"};
  EXPECT_EQ(DescribeRecord(consumed), "client=hex:c328");
}

TEST(PrintableText, EveryOutputHasOneInput) {
  EXPECT_EQ(PrintableText("plant/1/temp"), "plant/1/temp");
  EXPECT_EQ(PrintableText("caf\xc3\xa9 \xc2\xa0"), "caf\xc3\xa9 \xc2\xa0");  // é, no-break space
  EXPECT_EQ(PrintableText("\xc2\x9b"), "hex:c29b");  // U+009B, the 8-bit CSI
  EXPECT_EQ(PrintableText("hex:c29b"), "hex:6865783a63323962");
  EXPECT_EQ(PrintableText(""), "");
}

TEST(DescribeRecord, SessionWithItsSubscriptions) {
  session::SessionState s;
  s.version = mqtt::ProtocolVersion::kV5;
  s.expiry_s = 60;
  s.subscriptions.push_back({"a/#", {.qos = 1}});
  s.subscriptions.push_back({"b\t/+", {.qos = 2}});
  const std::string value = persist::EncodeSessionValue(s);
  const storage::Record r{.type = persist::kRecordSession, .key = "c1", .value = value};
  EXPECT_EQ(DescribeRecord(r),
            "client=c1 mqtt=5 expiry_s=60 subscriptions=[a/#:q1 hex:62092f2b:q2]");
}

TEST(DescribeRecord, UndecodableAndUnknownRecordsAreSaid) {
  EXPECT_EQ(DescribeRecord({.type = persist::kRecordMessage, .key = "t", .value = "\xff"}),
            "UNDECODABLE message");
  EXPECT_EQ(DescribeRecord({.type = persist::kRecordSession, .key = "", .value = ""}),
            "UNDECODABLE session");
  EXPECT_EQ(DescribeRecord({.type = 99, .key = "k\n", .value = "v"}),
            "type 99 key_bytes=2 value_bytes=1");
}

TEST(ExportJson, TopicAndPayloadReadBackExactly) {
  const std::string topic = "q\"uote\\/back\x01slash\x7f";
  MessageRecord m = Message(topic, "line\nbreak\t\"");
  m.record.value = m.value;
  const std::optional<std::string> line = ExportJson(3, m.record, "");
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->find('\n'), std::string::npos);
  const auto json = ReadFlatJsonObject(*line);
  ASSERT_TRUE(json.has_value()) << *line;
  EXPECT_EQ(json->at("partition"), "3");
  EXPECT_EQ(json->at("offset"), "42");
  EXPECT_EQ(json->at("time_ns"), "1795900000000000000");
  EXPECT_EQ(json->at("time"), "2026-11-28T21:06:40.000000Z");
  EXPECT_EQ(json->at("topic"), topic);
  EXPECT_EQ(json->at("qos"), "1");
  EXPECT_EQ(json->at("retain"), "false");
  EXPECT_EQ(json->at("payload"), "line\nbreak\t\"");
}

TEST(ExportJson, APayloadThatIsNotUtf8IsBase64) {
  MessageRecord m = Message("t", "\xc3\x28");
  m.record.value = m.value;
  const auto json = ReadFlatJsonObject(ExportJson(0, m.record, "").value());
  ASSERT_TRUE(json.has_value());
  EXPECT_EQ(json->count("payload"), 0u);
  EXPECT_EQ(json->at("payload_base64"), "wyg=");
}

TEST(ExportJson, OnlyDecodableMessagesMatchingTheFilter) {
  MessageRecord m = Message("plant/1/temp", "1");
  m.record.value = m.value;
  EXPECT_TRUE(ExportJson(0, m.record, "plant/+/temp").has_value());
  EXPECT_FALSE(ExportJson(0, m.record, "plant/+/hum").has_value());
  m.record.type = persist::kRecordRetainedCopy;
  EXPECT_FALSE(ExportJson(0, m.record, "").has_value());
  EXPECT_FALSE(ExportJson(0, {.type = persist::kRecordMessage, .key = "t", .value = "\xff"}, "")
                   .has_value());
}

TEST(ReadFlatJsonObject, RefusesWhatIsNotOneFlatObject) {
  EXPECT_TRUE(ReadFlatJsonObject(R"({"a":1,"b":"x","c":true})").has_value());
  EXPECT_TRUE(ReadFlatJsonObject("{}").has_value());
  for (std::string_view bad :
       {"", "{", "{\"a\":1", "{\"a\":1}x", "{\"a\":01}", "{\"a\":\"\n\"}", "{\"a\":1,\"a\":2}",
        "{\"a\":\"\\q\"}", "{\"a\":\"\\u00e9\"}", "{a:1}", "{\"a\":1,}", "{\"a\":\"\xff\"}"}) {
    EXPECT_FALSE(ReadFlatJsonObject(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace telemq::tools
