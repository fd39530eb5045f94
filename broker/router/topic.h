// Copyright telemq authors.
//
// topic.h: the small, allocation-free helpers every router structure shares:
// splitting topic names and filters into levels, the `$share/<group>/<filter>`
// syntax, the shared-group key exchanged between shards, and the obviously
// correct reference matcher `TopicMatchesFilter` (the oracle of the
// differential tests, also usable for retained-message scans).
//
// Contract: inputs are already validated by the protocol codec (MQTT 5.0
// §4.7): no NUL, `+` and `#` only as whole levels, `#` only last, topic names
// without wildcards. The router does not re-validate on the hot path.
#pragma once

#include <cstdint>
#include <string_view>

namespace telemq::router {

// Shared subscription syntax split into its parts. For a plain filter `group`
// is empty and `filter` is the whole input.
struct FilterSpec {
  std::string_view group;   // "" when not a shared subscription
  std::string_view filter;  // the topic filter proper
  bool shared() const { return !group.empty(); }
};

// Splits `$share/<group>/<filter>`. Anything else (including a malformed
// `$share/...` without a group or filter, which the codec rejects) is treated
// as a plain filter. Views point into `subscription`.
FilterSpec ParseFilterSpec(std::string_view subscription);

// Identifies one shared subscription (group + filter) across the shards of one
// process: every shard computes the same key from the same
// `$share/<group>/<filter>` string. Valid only inside one process run (the
// hash is seeded per process); never persist or send it over the network.
using SharedGroupKey = uint64_t;
SharedGroupKey SharedKeyOf(std::string_view group, std::string_view filter);

// True when the topic name's first level starts with '$' ($SYS/...): such a
// topic is not matched by a filter whose first level is `+` or `#`.
inline bool IsDollarTopic(std::string_view topic) { return !topic.empty() && topic.front() == '$'; }

// Calls `f(std::string_view level)` for each '/'-separated level, including
// empty ones: "a//b" -> "a","","b"; "/a" -> "","a"; "a/" -> "a",""; "" -> "".
template <class F>
void ForEachLevel(std::string_view s, F&& f) {
  size_t start = 0;
  while (true) {
    const size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      f(s.substr(start));
      return;
    }
    f(s.substr(start, slash - start));
    start = slash + 1;
  }
}

// Reference matcher, written for clarity rather than speed (recursive over
// levels). `filter` is a plain filter (no `$share/` prefix).
bool TopicMatchesFilter(std::string_view filter, std::string_view topic);

}  // namespace telemq::router
