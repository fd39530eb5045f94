// telemq: status propagation macros.
//
// Abseil 20220623 ships absl::Status and absl::StatusOr but not the
// ABSL_RETURN_IF_ERROR / ASSIGN_OR_RETURN macros, so we keep our own two.
//
//   absl::Status Load(const Path& p) {
//     TELEMQ_RETURN_IF_ERROR(CheckHeader(p));
//     TELEMQ_ASSIGN_OR_RETURN(Segment seg, OpenSegment(p));
//     ...
//   }
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TELEMQ_RETURN_IF_ERROR(expr)                                    \
  do {                                                                  \
    if (::absl::Status telemq_status_ = (expr); !telemq_status_.ok()) { \
      return telemq_status_;                                            \
    }                                                                   \
  } while (false)

#define TELEMQ_STATUS_CONCAT_INNER(a, b) a##b
#define TELEMQ_STATUS_CONCAT(a, b) TELEMQ_STATUS_CONCAT_INNER(a, b)

// Declares `lhs` from the value of a StatusOr expression, or returns its status.
#define TELEMQ_ASSIGN_OR_RETURN(lhs, expr) \
  TELEMQ_ASSIGN_OR_RETURN_IMPL(TELEMQ_STATUS_CONCAT(telemq_statusor_, __LINE__), lhs, expr)

// `lhs` may be a declaration (`auto x`), and `tmp` names a variable: neither
// can be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define TELEMQ_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();     \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
