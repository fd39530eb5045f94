// Copyright telemq authors.
#include "broker/router/topic.h"

#include "absl/hash/hash.h"

namespace telemq::router {
namespace {

constexpr std::string_view kSharePrefix = "$share/";

// Splits off the first level: returns it and advances `rest` past the slash;
// `*last` tells whether it was the final level.
std::string_view NextLevel(std::string_view* rest, bool* last) {
  const size_t slash = rest->find('/');
  std::string_view level = rest->substr(0, slash);
  *last = slash == std::string_view::npos;
  *rest = *last ? std::string_view() : rest->substr(slash + 1);
  return level;
}

bool MatchLevels(std::string_view filter, bool filter_done, std::string_view topic,
                 bool topic_done) {
  if (filter_done) return topic_done;
  bool filter_last = false;
  const std::string_view f = NextLevel(&filter, &filter_last);
  if (f == "#") return true;  // also matches the parent level ("a/#" vs "a")
  if (topic_done) return false;
  bool topic_last = false;
  const std::string_view t = NextLevel(&topic, &topic_last);
  if (f != "+" && f != t) return false;
  return MatchLevels(filter, filter_last, topic, topic_last);
}

}  // namespace

FilterSpec ParseFilterSpec(std::string_view subscription) {
  if (subscription.substr(0, kSharePrefix.size()) != kSharePrefix) return {{}, subscription};
  const std::string_view rest = subscription.substr(kSharePrefix.size());
  const size_t slash = rest.find('/');
  if (slash == 0 || slash == std::string_view::npos || slash + 1 == rest.size()) {
    return {{}, subscription};  // malformed; the codec rejects it before us
  }
  return {rest.substr(0, slash), rest.substr(slash + 1)};
}

SharedGroupKey SharedKeyOf(std::string_view group, std::string_view filter) {
  return absl::Hash<std::pair<std::string_view, std::string_view>>{}({group, filter});
}

bool TopicMatchesFilter(std::string_view filter, std::string_view topic) {
  if (IsDollarTopic(topic) && !filter.empty() && (filter.front() == '+' || filter.front() == '#')) {
    return false;
  }
  return MatchLevels(filter, false, topic, false);
}

}  // namespace telemq::router
