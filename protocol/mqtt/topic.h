// telemq: topic name and topic filter validation (MQTT 5.0 spec 4.7, 4.8.2).
//
//   ValidateTopicName("site1/dev3/temp")    -> kOk
//   ValidateTopicName("site1/+/temp")       -> kWildcardInName
//   ValidateTopicFilter("a/#/b")            -> kMisplacedWildcard
//   ParseSharedSubscription("$share/g/a/#") -> {group "g", filter "a/#"}
//
// All functions also validate the string as MQTT UTF-8 (utf8.h), so the
// decoder runs one pass per topic. They never allocate.
#pragma once

#include <cstdint>
#include <string_view>

namespace telemq::mqtt {

enum class TopicError : uint8_t {
  kOk = 0,
  kEmpty,               // zero-length name or filter
  kTooLong,             // more than 65535 bytes
  kInvalidUtf8,         // ill-formed UTF-8, U+0000 or a surrogate
  kWildcardInName,      // '+' or '#' in a topic name
  kMisplacedWildcard,   // '#' not alone as the last level, '+' not alone in a level
  kInvalidShareGroup,   // "$share//f", or '+', '#' in the share name
  kMissingShareFilter,  // "$share/group" or "$share/group/"
};

std::string_view TopicErrorName(TopicError error);

// A topic name as carried by PUBLISH and the Will. An empty name is reported
// as kEmpty; the decoder accepts it only for a 5.0 PUBLISH with a Topic Alias.
TopicError ValidateTopicName(std::string_view topic);

// A topic filter as carried by SUBSCRIBE and UNSUBSCRIBE, including the
// shared-subscription form "$share/{ShareName}/{filter}", which is checked as
// ParseSharedSubscription does.
TopicError ValidateTopicFilter(std::string_view filter);

// A filter split into its share name and the filter proper. For a filter not
// starting with "$share/" `group` is empty and `filter` is the input.
struct SharedSubscription {
  bool shared = false;
  std::string_view group;
  std::string_view filter;
};

// Splits "$share/group/filter". Returns kOk and fills *out, or an error:
// an empty group or one containing '+' or '#' (it cannot contain '/': the
// first '/' after the group ends it) -> kInvalidShareGroup; no filter ->
// kMissingShareFilter; an invalid filter -> that filter's error.
TopicError ParseSharedSubscription(std::string_view filter, SharedSubscription* out);

}  // namespace telemq::mqtt
