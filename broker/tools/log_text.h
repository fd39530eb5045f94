// How telemq-log prints records (telemq_log.cc): a one-line description per
// record for `dump`, a JSON object per message for `export`.
//
// The records come from a log telemq-log did not necessarily write: any key,
// any value. Whatever they hold, a description is one line of valid UTF-8
// without control characters, and an export line is one JSON object.
// recovery_fuzz (broker/persist) checks both on arbitrary records.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/batch_format.h"

namespace telemq::tools {

// `s` as it is when it is UTF-8 without control characters (C0, DEL, C1)
// and does not start with "hex:", else "hex:" followed by its bytes in
// hexadecimal.
std::string PrintableText(std::string_view s);

// The record's fields after its type: "topic=a/b qos=1 ... payload=...",
// "client=c1 consumed=[3 9]", "UNDECODABLE session", ...
std::string DescribeRecord(const storage::Record& r);

// `s` as a JSON string, quotes included, appended to `out`. `s` must be
// valid UTF-8.
void AppendJsonString(std::string_view s, std::string* out);

// A message record as one JSON object (partition, offset, time, topic, qos,
// retain, payload or payload_base64); nullopt when `r` is not a message
// record, does not decode, or its topic does not match `topic_filter`
// (empty: every topic; else a valid filter, see router::TopicMatchesFilter).
std::optional<std::string> ExportJson(uint32_t partition, const storage::Record& r,
                                      std::string_view topic_filter);

// RFC 3339 UTC with microseconds, as both print broker times.
std::string FormatTime(int64_t ns);

}  // namespace telemq::tools
