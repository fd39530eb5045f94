// A strict reader of the JSON objects `telemq-log export` writes (one flat
// object per line: string, integer and boolean members), for its tests and
// for recovery_fuzz, which checks every line it exports from hostile logs.
// Not a general JSON parser: no nesting, no fractions, no whitespace.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace telemq::tools {

// Member name -> value: a string's text unescaped; an integer or boolean as
// written. nullopt if `line` is not such an object, or not valid UTF-8.
std::optional<std::map<std::string, std::string>> ReadFlatJsonObject(std::string_view line);

}  // namespace telemq::tools
