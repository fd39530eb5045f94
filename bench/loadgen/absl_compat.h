// telemq-bench: Debian's Abseil 20220623 is built with its own
// absl::string_view (not an alias of std::string_view), so absl::StrCat and
// friends do not take a std::string_view. Sv() converts, at no cost.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace telemq::bench {

inline absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace telemq::bench
