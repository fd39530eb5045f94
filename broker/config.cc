#include "broker/config.h"

#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "protocol/mqtt/topic.h"

namespace telemq {
namespace {

using Setter = std::function<absl::Status(const std::string& value, BrokerConfig*)>;

struct Option {
  const char* name;  // canonical, with dashes
  const char* help;
  Setter set;
};

template <typename T>
Setter Unsigned(T BrokerConfig::*field, uint64_t min, uint64_t max) {
  return [=](const std::string& value, BrokerConfig* c) -> absl::Status {
    uint64_t v;
    if (!absl::SimpleAtoi(value, &v)) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", value, "' is not a non-negative integer"));
    }
    if (v < min || v > max) {
      return absl::OutOfRangeError(absl::StrCat(v, " is outside [", min, ", ", max, "]"));
    }
    c->*field = static_cast<T>(v);
    return absl::OkStatus();
  };
}

Setter Bool(bool BrokerConfig::*field) {
  return [=](const std::string& value, BrokerConfig* c) -> absl::Status {
    const std::string v = absl::AsciiStrToLower(value);
    if (v == "true" || v == "on" || v == "yes" || v == "1") {
      c->*field = true;
    } else if (v == "false" || v == "off" || v == "no" || v == "0") {
      c->*field = false;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("'", value, "' is not true or false"));
    }
    return absl::OkStatus();
  };
}

Setter String(std::string BrokerConfig::*field, bool allow_empty) {
  return [=](const std::string& value, BrokerConfig* c) -> absl::Status {
    if (!allow_empty && value.empty()) return absl::InvalidArgumentError("must not be empty");
    c->*field = value;
    return absl::OkStatus();
  };
}

const std::vector<Option>& Options() {
  static const auto* options = new std::vector<Option>{
      {"host",
       "listen address, IPv4 or IPv6 literal (default 127.0.0.1; 0.0.0.0 for every interface)",
       String(&BrokerConfig::host, false)},
      {"port", "MQTT TCP port (default 1883; 0 picks a free port)",
       Unsigned(&BrokerConfig::port, 0, 65535)},
      {"threads", "shard threads (default 0 = one per core)",
       Unsigned(&BrokerConfig::threads, 0, 64)},
      {"busy-wait-us",
       "under load, a shard gathers completions for up to this long before a loop turn "
       "(default 50; 0 = off)",
       Unsigned(&BrokerConfig::busy_wait_us, 0, 10000)},
      {"data-dir", "directory for the log and state (default ./data)",
       String(&BrokerConfig::data_dir, false)},
      {"log-level", "error, warning, info or debug (default info)",
       [](const std::string& v, BrokerConfig* c) -> absl::Status {
         if (v != "error" && v != "warning" && v != "warn" && v != "info" && v != "debug") {
           return absl::InvalidArgumentError(
               absl::StrCat("'", v, "' is not one of error, warning, info, debug"));
         }
         c->log_level = v;
         return absl::OkStatus();
       }},
      {"port-file", "write the bound port to this file once listening (for scripts and tests)",
       String(&BrokerConfig::port_file, true)},
      {"max-connections", "maximum open client connections (default 100000)",
       Unsigned(&BrokerConfig::max_connections, 1, 10'000'000)},
      {"max-packet-size", "largest accepted MQTT packet in bytes (default 1048576)",
       Unsigned(&BrokerConfig::max_packet_size, 64, 268'435'455 + 5)},
      {"max-inflight", "unacknowledged QoS 1/2 messages sent to one client (default 256)",
       Unsigned(&BrokerConfig::max_inflight, 1, 65535)},
      {"max-queued-messages",
       "QoS 1/2 messages queued per session beyond in-flight (default 10000)",
       Unsigned(&BrokerConfig::max_queued_messages, 1, 100'000'000)},
      {"max-queued-bytes", "bytes queued per session (default 67108864)",
       Unsigned(&BrokerConfig::max_queued_bytes, 1024, std::numeric_limits<uint64_t>::max())},
      {"max-output-bytes",
       "unsent bytes buffered per connection; QoS 0 beyond it is dropped (default 4194304)",
       Unsigned(&BrokerConfig::max_output_bytes, 4096, std::numeric_limits<uint64_t>::max())},
      {"max-keepalive", "largest keep-alive in seconds a client may use (default 65535)",
       Unsigned(&BrokerConfig::max_keepalive, 1, 65535)},
      {"receive-maximum",
       "MQTT 5 Receive Maximum: unacknowledged QoS 1/2 PUBLISHes a client may send "
       "(default 1024)",
       Unsigned(&BrokerConfig::receive_maximum, 1, 65535)},
      {"max-subscriptions",
       "topic filters one session may hold; further ones get SUBACK failure 0x80 (5.0: 0x97 "
       "Quota exceeded) (default 10000)",
       Unsigned(&BrokerConfig::max_subscriptions, 1, 100'000'000)},
      {"session-expiry-max", "cap on MQTT 5 session expiry, seconds (default 4294967295)",
       Unsigned(&BrokerConfig::session_expiry_max, 0, 0xFFFFFFFF)},
      {"durability",
       "when QoS 1/2 and retained messages are acknowledged: sync (after fdatasync, the "
       "default), batch (after the write; fdatasync every --durability-batch-ms) or none "
       "(at once)",
       [](const std::string& v, BrokerConfig* c) -> absl::Status {
         if (v != "sync" && v != "batch" && v != "none") {
           return absl::InvalidArgumentError(
               absl::StrCat("'", v, "' is not one of sync, batch, none"));
         }
         c->durability = v;
         return absl::OkStatus();
       }},
      {"durability-batch-ms", "batch durability: longest time between fdatasyncs (default 10)",
       Unsigned(&BrokerConfig::durability_batch_ms, 1, 60'000)},
      {"segment-mb", "log segment size in MiB (default 64)",
       Unsigned(&BrokerConfig::segment_mb, 1, 4096)},
      {"retention-mb",
       "delete a log partition's oldest segments beyond this size in MiB, except what persistent "
       "sessions still need (default 0 = unlimited)",
       Unsigned(&BrokerConfig::retention_mb, 0, uint64_t{1} << 40)},
      {"retention-hours",
       "delete log segments whose newest record is older than this, except what persistent "
       "sessions still need (default 0 = unlimited)",
       Unsigned(&BrokerConfig::retention_hours, 0, uint64_t{24} * 365 * 100)},
      {"direct-descriptors",
       "hold clients as io_uring direct descriptors, beyond the open-file limit; false: as "
       "process descriptors, visible to ss -p and lsof (default true)",
       Bool(&BrokerConfig::direct_descriptors)},
      {"replay-max-messages",
       "most logged messages one filter of a SUBSCRIBE with the user property replay-from gets "
       "(default 100000)",
       Unsigned(&BrokerConfig::replay_max_messages, 0, 100'000'000)},
      {"retention-check-s", "seconds between retention and disk-space checks (default 10)",
       Unsigned(&BrokerConfig::retention_check_s, 1, 3600)},
      {"persist",
       "log QoS 0 messages on topics matching this filter too (for replay); repeat the "
       "setting or separate filters with commas",
       [](const std::string& v, BrokerConfig* c) -> absl::Status {
         const std::vector<std::string> filters = absl::StrSplit(v, ',', absl::SkipWhitespace());
         for (const std::string& f : filters) {
           const std::string filter(absl::StripAsciiWhitespace(f));
           if (mqtt::ValidateTopicFilter(filter) != mqtt::TopicError::kOk) {
             return absl::InvalidArgumentError(
                 absl::StrCat("'", filter, "' is not a valid MQTT topic filter"));
           }
           c->persist_filters.push_back(filter);
         }
         return absl::OkStatus();
       }},
  };
  return *options;
}

const Option* FindOption(std::string name) {
  absl::StrReplaceAll({{"_", "-"}}, &name);
  for (const Option& o : Options()) {
    if (name == o.name) return &o;
  }
  return nullptr;
}

absl::Status Apply(const std::string& name, const std::string& value, const std::string& where,
                   BrokerConfig* config) {
  const Option* option = FindOption(name);
  if (option == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": unknown setting '", name, "'"));
  }
  absl::Status s = option->set(value, config);
  if (!s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": bad value for '", option->name, "': ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyConfigText(const std::string& text, const std::string& origin,
                             BrokerConfig* config) {
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string where = absl::StrCat(origin, ":", line_no);
    std::string_view content = line;
    if (size_t hash = content.find('#'); hash != std::string_view::npos) {
      content = content.substr(0, hash);
    }
    const std::string stripped(absl::StripAsciiWhitespace(std::string(content)));
    if (stripped.empty()) continue;
    const size_t eq = stripped.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": expected 'key = value', got '", stripped, "'"));
    }
    const std::string key(absl::StripAsciiWhitespace(stripped.substr(0, eq)));
    const std::string value(absl::StripAsciiWhitespace(stripped.substr(eq + 1)));
    absl::Status s = Apply(key, value, where, config);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<BrokerConfig> ParseCommandLine(int argc, const char* const* argv) {
  BrokerConfig config;
  struct Flag {
    std::string name, value, where;
  };
  std::vector<Flag> flags;
  std::string config_file;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      config.help = true;
      return config;
    }
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "' (flags look like --port=1883)"));
    }
    arg.erase(0, 2);
    std::string name = arg, value;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
    }
    if (name == "config") {
      config_file = value;
    } else {
      flags.push_back({name, value, absl::StrCat("flag --", name)});
    }
  }
  if (!config_file.empty()) {
    std::ifstream in(config_file);
    if (!in) {
      return absl::NotFoundError(absl::StrCat("cannot read config file '", config_file, "'"));
    }
    std::stringstream text;
    text << in.rdbuf();
    absl::Status s = ApplyConfigText(text.str(), config_file, &config);
    if (!s.ok()) return s;
  }
  for (const Flag& f : flags) {
    absl::Status s = Apply(f.name, f.value, f.where, &config);
    if (!s.ok()) return s;
  }
  return config;
}

std::string ConfigUsage() {
  std::string out =
      "usage: telemq [--config FILE] [--SETTING VALUE]...\n\n"
      "Settings (flags, or 'setting = value' lines in the config file):\n";
  for (const Option& o : Options()) {
    absl::StrAppend(&out, "  --", o.name,
                    std::string(22 - std::min<size_t>(20, strlen(o.name)), ' '), o.help, "\n");
  }
  return out;
}

}  // namespace telemq
