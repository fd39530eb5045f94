// telemq-bench: does an MQTT topic filter match a topic name?
//
// Only used up front, to know how many subscribers each publisher's messages
// should reach (the expected delivery count and the owed-message bound); the
// broker does the real routing. '+' matches one level, a trailing '#' the
// parent level and everything below. '$' topics are not special here: the
// load generator never publishes to them.
#pragma once

#include <string_view>

namespace telemq::bench {

inline bool TopicMatches(std::string_view filter, std::string_view topic) {
  while (true) {
    const size_t fs = filter.find('/');
    const std::string_view flevel = filter.substr(0, fs);
    if (flevel == "#") return true;
    const size_t ts = topic.find('/');
    const std::string_view tlevel = topic.substr(0, ts);
    if (flevel != "+" && flevel != tlevel) return false;
    if (fs == std::string_view::npos || ts == std::string_view::npos) {
      // One side ended. Match if both ended, or the filter continues with "/#".
      if (fs == std::string_view::npos && ts == std::string_view::npos) return true;
      return ts == std::string_view::npos && filter.substr(fs + 1) == "#";
    }
    filter.remove_prefix(fs + 1);
    topic.remove_prefix(ts + 1);
  }
}

}  // namespace telemq::bench
