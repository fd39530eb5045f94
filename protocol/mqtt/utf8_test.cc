#include "protocol/mqtt/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace telemq::mqtt {
namespace {

struct Utf8Case {
  std::string_view text;
  bool valid;
  const char* why;
};

TEST(Utf8Test, ValidationTable) {
  using namespace std::string_view_literals;
  const Utf8Case cases[] = {
      {"", true, "empty"},
      {"site1/building2/device3/temp", true, "ASCII, several 8-byte words"},
      {"a", true, "single byte"},
      {"caf\xC3\xA9", true, "2-byte sequence"},
      {"\xE2\x82\xAC", true, "3-byte sequence (euro sign)"},
      {"\xF0\x9F\x98\x80", true, "4-byte sequence (emoji)"},
      {"\xF4\x8F\xBF\xBF", true, "U+10FFFF, the last code point"},
      {"\xEF\xBF\xBF", true, "U+FFFF non-character: SHOULD NOT only"},
      {"\x01\x1F\x7F", true, "control characters: SHOULD NOT only"},
      {"abc\0def"sv, false, "U+0000 in the tail"},
      {"abcdefgh\0"sv, false, "U+0000 after an ASCII word"},
      {"abcdefg\0ijklmnop"sv, false, "U+0000 inside an ASCII word"},
      {"\xC0\x80", false, "overlong U+0000"},
      {"\xC1\xBF", false, "overlong 2-byte"},
      {"\xE0\x80\xAF", false, "overlong 3-byte"},
      {"\xF0\x80\x80\xAF", false, "overlong 4-byte"},
      {"\xED\xA0\x80", false, "surrogate U+D800"},
      {"\xED\xBF\xBF", false, "surrogate U+DFFF"},
      {"\xF4\x90\x80\x80", false, "above U+10FFFF"},
      {"\xF5\x80\x80\x80", false, "lead byte F5"},
      {"\xFF", false, "byte FF"},
      {"\x80", false, "lone continuation byte"},
      {"\xC3", false, "truncated 2-byte sequence"},
      {"\xE2\x82", false, "truncated 3-byte sequence"},
      {"abcdefg\xE2\x82", false, "truncated sequence after ASCII"},
      {"\xC3\x28", false, "bad continuation byte"},
  };
  for (const Utf8Case& c : cases) {
    EXPECT_EQ(IsValidMqttUtf8(c.text), c.valid) << c.why;
  }
}

TEST(Utf8Test, RejectsStringsLongerThan65535Bytes) {
  EXPECT_TRUE(IsValidMqttUtf8(std::string(65535, 'a')));
  EXPECT_FALSE(IsValidMqttUtf8(std::string(65536, 'a')));
}

TEST(Utf8Test, PayloadCheckHasNoLengthLimit) {
  const std::string big(70000, 'a');
  EXPECT_TRUE(IsValidUtf8Payload(reinterpret_cast<const uint8_t*>(big.data()), big.size()));
}

TEST(Utf8Test, FindsInvalidByteAtEveryOffset) {
  for (size_t len = 1; len < 40; ++len) {
    for (size_t bad = 0; bad < len; ++bad) {
      std::string s(len, 'x');
      s[bad] = '\0';
      EXPECT_FALSE(IsValidMqttUtf8(s)) << len << " " << bad;
      s[bad] = '\xFF';
      EXPECT_FALSE(IsValidMqttUtf8(s)) << len << " " << bad;
    }
  }
}

}  // namespace
}  // namespace telemq::mqtt
