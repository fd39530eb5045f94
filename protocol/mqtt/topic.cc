#include "protocol/mqtt/topic.h"

#include <cstring>

#include "protocol/mqtt/utf8.h"

namespace telemq::mqtt {
namespace {

constexpr std::string_view kSharePrefix = "$share/";

// Wildcard placement in a plain (non-shared) filter: '#' only as a whole last
// level, '+' only as a whole level. UTF-8 is checked separately.
TopicError CheckFilterWildcards(std::string_view f) {
  const size_t n = f.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = f[i];
    if (c != '+' && c != '#') continue;
    const bool level_start = i == 0 || f[i - 1] == '/';
    const bool level_end = i + 1 == n || f[i + 1] == '/';
    if (!level_start || !level_end) return TopicError::kMisplacedWildcard;
    if (c == '#' && i + 1 != n) return TopicError::kMisplacedWildcard;
  }
  return TopicError::kOk;
}

TopicError ValidatePlainFilter(std::string_view f) {
  if (f.empty()) return TopicError::kEmpty;
  if (f.size() > kMaxStringLength) return TopicError::kTooLong;
  if (!IsValidMqttUtf8(f)) return TopicError::kInvalidUtf8;
  return CheckFilterWildcards(f);
}

}  // namespace

std::string_view TopicErrorName(TopicError error) {
  switch (error) {
    case TopicError::kOk:
      return "ok";
    case TopicError::kEmpty:
      return "empty topic";
    case TopicError::kTooLong:
      return "topic longer than 65535 bytes";
    case TopicError::kInvalidUtf8:
      return "topic is not valid MQTT UTF-8";
    case TopicError::kWildcardInName:
      return "wildcard in topic name";
    case TopicError::kMisplacedWildcard:
      return "misplaced wildcard in topic filter";
    case TopicError::kInvalidShareGroup:
      return "invalid shared subscription group";
    case TopicError::kMissingShareFilter:
      return "shared subscription without filter";
  }
  return "unknown topic error";
}

TopicError ValidateTopicName(std::string_view topic) {
  using namespace utf8_internal;
  const size_t n = topic.size();
  if (n == 0) return TopicError::kEmpty;
  if (n > kMaxStringLength) return TopicError::kTooLong;
  const auto* p = reinterpret_cast<const uint8_t*>(topic.data());
  // Fast path: 8 ASCII bytes at a time, rejecting NUL, '+' and '#' in one
  // test. The first non-ASCII word hands the rest to the general validator.
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & kHighs) break;
    if (HasZeroByte(w) | HasByte(w, '+') | HasByte(w, '#')) {
      return HasZeroByte(w) ? TopicError::kInvalidUtf8 : TopicError::kWildcardInName;
    }
  }
  bool ascii = true;
  for (size_t j = i; j < n; ++j) {
    const uint8_t b = p[j];
    if (b == '+' || b == '#') return TopicError::kWildcardInName;
    if (b == 0) return TopicError::kInvalidUtf8;
    ascii &= b < 0x80;
  }
  if (!ascii && !IsValidUtf8Payload(p + i, n - i)) return TopicError::kInvalidUtf8;
  return TopicError::kOk;
}

TopicError ParseSharedSubscription(std::string_view filter, SharedSubscription* out) {
  *out = SharedSubscription{};
  if (filter.substr(0, kSharePrefix.size()) != kSharePrefix) {
    out->filter = filter;
    return ValidatePlainFilter(filter);
  }
  if (filter.size() > kMaxStringLength) return TopicError::kTooLong;
  if (!IsValidMqttUtf8(filter)) return TopicError::kInvalidUtf8;
  const std::string_view rest = filter.substr(kSharePrefix.size());
  const size_t slash = rest.find('/');
  const std::string_view group = rest.substr(0, slash);
  if (group.empty() || group.find_first_of("+#") != std::string_view::npos) {
    return TopicError::kInvalidShareGroup;
  }
  if (slash == std::string_view::npos || slash + 1 == rest.size()) {
    return TopicError::kMissingShareFilter;
  }
  const std::string_view inner = rest.substr(slash + 1);
  if (TopicError e = CheckFilterWildcards(inner); e != TopicError::kOk) return e;
  out->shared = true;
  out->group = group;
  out->filter = inner;
  return TopicError::kOk;
}

TopicError ValidateTopicFilter(std::string_view filter) {
  SharedSubscription unused;
  return ParseSharedSubscription(filter, &unused);
}

}  // namespace telemq::mqtt
