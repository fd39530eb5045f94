#include "broker/tools/log_text.h"

#include <cstdio>
#include <span>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "broker/persist/records.h"
#include "broker/router/topic.h"
#include "protocol/mqtt/utf8.h"

namespace telemq::tools {
namespace {

// UTF-8 without C0 or C1 control characters (U+0080-U+009F, C2 80-9F in
// UTF-8, include an 8-bit CSI some terminals obey).
bool IsText(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x20 || b == 0x7f) return false;
    if (b == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xa0) return false;
  }
  return mqtt::IsValidUtf8Payload(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string_view Chars(std::span<const uint8_t> p) {
  return {reinterpret_cast<const char*>(p.data()), p.size()};
}

// Abseil 20220623 as Debian builds it has a string_view of its own.
absl::string_view Absl(std::string_view s) { return {s.data(), s.size()}; }

// A payload for dumps: the text, else "base64:...".
std::string PayloadText(std::span<const uint8_t> p) {
  if (IsText(Chars(p))) return std::string(Chars(p));
  std::string b64;
  absl::Base64Escape(Absl(Chars(p)), &b64);
  return "base64:" + b64;
}

std::string DescribeQos2Out(const session::OutboundQos2& o) {
  return o.released
             ? absl::StrCat("packet_id=", o.packet_id, " released")
             : absl::StrCat("packet_id=", o.packet_id, " message=", o.partition, ":", o.offset);
}

std::string DescribeSession(const storage::Record& r) {
  session::SessionState s;
  if (!persist::DecodeSession(r.key, r.value, &s)) return "UNDECODABLE session";
  std::string out =
      absl::StrCat("client=", PrintableText(r.key), " mqtt=", static_cast<int>(s.version),
                   " expiry_s=", s.expiry_s, " subscriptions=[");
  for (size_t i = 0; i < s.subscriptions.size(); ++i) {
    absl::StrAppend(&out, i ? " " : "", PrintableText(s.subscriptions[i].first), ":q",
                    s.subscriptions[i].second.qos);
  }
  return out + "]";
}

}  // namespace

std::string PrintableText(std::string_view s) {
  // Text that starts "hex:" itself goes in hex too: no output means two inputs.
  if (IsText(s) && !s.starts_with("hex:")) return std::string(s);
  return absl::StrCat("hex:", absl::BytesToHexString(Absl(s)));
}

std::string DescribeRecord(const storage::Record& r) {
  auto client = [&r] { return absl::StrCat("client=", PrintableText(r.key)); };
  switch (r.type) {
    case persist::kRecordMessage:
    case persist::kRecordRetainedCopy: {
      persist::MessageRecord m;
      if (!persist::DecodeMessage(r.key, r.value, &m)) return "UNDECODABLE message";
      return absl::StrCat("topic=", PrintableText(m.topic), " qos=", m.qos,
                          m.retain ? " retain" : "", " from=", PrintableText(m.origin_client),
                          m.packet_id ? absl::StrCat(" packet_id=", m.packet_id) : "",
                          " bytes=", m.payload.size(), " payload=", PayloadText(m.payload));
    }
    case persist::kRecordSession:
      return DescribeSession(r);
    case persist::kRecordSessionEnd:
      return client();
    case persist::kRecordConsumed: {
      std::vector<uint64_t> c;
      if (!persist::DecodeConsumedValue(r.value, &c)) return "UNDECODABLE consumed";
      return absl::StrCat(client(), " consumed=[", absl::StrJoin(c, " "), "]");
    }
    case persist::kRecordQos2Release:
    case persist::kRecordQos2OutComplete: {
      uint16_t id = 0;
      if (!persist::DecodeQos2ReleaseValue(r.value, &id)) return "UNDECODABLE release";
      return absl::StrCat(client(), " packet_id=", id);
    }
    case persist::kRecordQos2Pending: {
      std::vector<uint16_t> ids;
      if (!persist::DecodeQos2PendingValue(r.value, &ids)) return "UNDECODABLE qos2-pending";
      return absl::StrCat(client(), " packet_ids=[", absl::StrJoin(ids, " "), "]");
    }
    case persist::kRecordQos2Out: {
      session::OutboundQos2 o;
      if (!persist::DecodeQos2OutValue(r.value, &o)) return "UNDECODABLE qos2-out";
      return absl::StrCat(client(), " ", DescribeQos2Out(o));
    }
    case persist::kRecordQos2OutPending: {
      std::vector<session::OutboundQos2> entries;
      if (!persist::DecodeQos2OutPendingValue(r.value, &entries)) {
        return "UNDECODABLE qos2-out-pending";
      }
      return absl::StrCat(client(), " [",
                          absl::StrJoin(entries, "; ",
                                        [](std::string* out, const session::OutboundQos2& o) {
                                          out->append(DescribeQos2Out(o));
                                        }),
                          "]");
    }
    case persist::kRecordCheckpointBegin:
    case persist::kRecordCheckpointEnd:
      return "";
    default:
      return absl::StrCat("type ", r.type, " key_bytes=", r.key.size(),
                          " value_bytes=", r.value.size());
  }
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

std::optional<std::string> ExportJson(uint32_t partition, const storage::Record& r,
                                      std::string_view topic_filter) {
  if (r.type != persist::kRecordMessage) return std::nullopt;
  persist::MessageRecord m;
  if (!persist::DecodeMessage(r.key, r.value, &m)) return std::nullopt;
  if (!topic_filter.empty() && !router::TopicMatchesFilter(topic_filter, m.topic)) {
    return std::nullopt;
  }
  std::string j =
      absl::StrCat("{\"partition\":", partition, ",\"offset\":", r.offset, ",\"time\":\"",
                   FormatTime(r.timestamp_ns), "\",\"time_ns\":", r.timestamp_ns, ",\"topic\":");
  AppendJsonString(m.topic, &j);
  absl::StrAppend(&j, ",\"qos\":", m.qos, ",\"retain\":", m.retain ? "true" : "false");
  if (mqtt::IsValidUtf8Payload(m.payload.data(), m.payload.size())) {
    j.append(",\"payload\":");
    AppendJsonString(Chars(m.payload), &j);
  } else {
    std::string b64;
    absl::Base64Escape(Absl(Chars(m.payload)), &b64);
    absl::StrAppend(&j, ",\"payload_base64\":\"", b64, "\"");
  }
  j.push_back('}');
  return j;
}

std::string FormatTime(int64_t ns) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromUnixNanos(ns), absl::UTCTimeZone());
}

}  // namespace telemq::tools
