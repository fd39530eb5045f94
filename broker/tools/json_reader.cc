#include "broker/tools/json_reader.h"

#include "protocol/mqtt/utf8.h"

namespace telemq::tools {

std::optional<std::map<std::string, std::string>> ReadFlatJsonObject(std::string_view line) {
  if (!mqtt::IsValidUtf8Payload(reinterpret_cast<const uint8_t*>(line.data()), line.size())) {
    return std::nullopt;
  }
  size_t i = 0;
  auto read_string = [&](std::string* out) {
    if (i >= line.size() || line[i++] != '"') return false;
    while (i < line.size()) {
      const auto c = static_cast<unsigned char>(line[i++]);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        continue;
      }
      if (i >= line.size()) return false;
      const char e = line[i++];
      const std::string_view simple = "\"\\/bfnrt";
      const std::string_view meaning = "\"\\/\b\f\n\r\t";
      if (const size_t k = simple.find(e); k != std::string_view::npos) {
        out->push_back(meaning[k]);
      } else if (e == 'u' && i + 4 <= line.size()) {
        unsigned code = 0;
        for (int d = 0; d < 4; ++d) {
          const char h = line[i++];
          const int v = h >= '0' && h <= '9'   ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                               : -1;
          if (v < 0) return false;
          code = code * 16 + static_cast<unsigned>(v);
        }
        if (code >= 0x80) return false;  // the exporter escapes control characters only
        out->push_back(static_cast<char>(code));
      } else {
        return false;
      }
    }
    return false;
  };
  auto read_scalar = [&](std::string* out) {
    for (std::string_view word : {"true", "false"}) {
      if (line.substr(i, word.size()) == word) {
        i += word.size();
        *out = word;
        return true;
      }
    }
    const size_t start = i;
    if (i < line.size() && line[i] == '-') ++i;
    const size_t digits = i;
    while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
    if (i == digits || (line[digits] == '0' && i - digits > 1)) return false;
    *out = line.substr(start, i - start);
    return true;
  };
  std::map<std::string, std::string> members;
  if (line.empty() || line[i++] != '{') return std::nullopt;
  if (i < line.size() && line[i] == '}')
    return ++i == line.size() ? std::optional(members) : std::nullopt;
  for (;;) {
    std::string name, value;
    if (!read_string(&name) || i >= line.size() || line[i++] != ':') return std::nullopt;
    const bool ok = i < line.size() && line[i] == '"' ? read_string(&value) : read_scalar(&value);
    if (!ok || !members.emplace(std::move(name), std::move(value)).second) return std::nullopt;
    if (i >= line.size()) return std::nullopt;
    const char next = line[i++];
    if (next == '}') return i == line.size() ? std::optional(members) : std::nullopt;
    if (next != ',') return std::nullopt;
  }
}

}  // namespace telemq::tools
