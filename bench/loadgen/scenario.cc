#include "bench/loadgen/scenario.h"

#include <charconv>
#include <functional>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "bench/loadgen/absl_compat.h"

namespace telemq::bench {
namespace {

struct Preset {
  const char* name;
  const char* help;
  std::function<void(Scenario&)> apply;
};

const std::vector<Preset>& Presets() {
  static const auto* presets = new std::vector<Preset>{
      {"1to1", "1 publisher -> 1 subscriber, QoS 0", [](Scenario&) {}},
      {"fan-in", "100 publishers on sensors/<id>/temp -> 1 subscriber on sensors/+/temp",
       [](Scenario& s) {
         s.publishers = 100;
         s.subscribers = 1;
         s.pub_topic = "sensors/{id}/temp";
         s.sub_filter = "sensors/+/temp";
       }},
      {"fan-out", "1 publisher -> 50 subscribers of the same topic",
       [](Scenario& s) {
         s.publishers = 1;
         s.subscribers = 50;
         s.pub_topic = "alerts/all";
         s.sub_filter = "alerts/all";
       }},
      {"many-to-many", "32 publishers, 16 subscribers in 8 groups (4 pubs x 2 subs per group)",
       [](Scenario& s) {
         s.publishers = 32;
         s.subscribers = 16;
         s.groups = 8;
         s.pub_topic = "m2m/{group}/{id}";
         s.sub_filter = "m2m/{group}/#";
       }},
      {"qos1", "1 -> 1 at QoS 1", [](Scenario& s) { s.qos = 1; }},
      {"qos2", "1 -> 1 at QoS 2", [](Scenario& s) { s.qos = 2; }},
      {"storm", "connect + CONNACK + DISCONNECT loop, 16 attempts in flight",
       [](Scenario& s) {
         s.mode = Mode::kStorm;
         s.publishers = 0;
         s.subscribers = 0;
       }},
      {"idle", "hold 1000 idle connections; broker RSS per connection with --broker-pid",
       [](Scenario& s) {
         s.mode = Mode::kIdle;
         s.publishers = 0;
         s.subscribers = 0;
         s.duration = 5;
       }},
      {"retained", "100 publishers leave a retained message each; 4 late subscribers get all",
       [](Scenario& s) {
         s.mode = Mode::kRetained;
         s.publishers = 100;
         s.subscribers = 4;
         s.qos = 1;
         s.retain = true;
         s.backlog = 1;
         s.pub_topic = "retained/{id}";
         s.sub_filter = "retained/#";
       }},
      {"backlog", "persistent sessions: 4 offline subscribers, 10000 queued QoS 1 messages",
       [](Scenario& s) {
         s.mode = Mode::kBacklog;
         s.publishers = 1;
         s.subscribers = 4;
         s.qos = 1;
         s.backlog = 10000;
         s.pub_topic = "backlog/{id}";
         s.sub_filter = "backlog/#";
       }},
  };
  return *presets;
}

template <typename T>
absl::Status ParseNumber(std::string_view name, std::string_view v, T* out, T lo, T hi) {
  T value{};
  bool ok;
  if constexpr (std::is_floating_point_v<T>) {
    ok = absl::SimpleAtod(Sv(v), &value);
  } else {
    int64_t wide;
    ok = absl::SimpleAtoi(Sv(v), &wide) && wide >= static_cast<int64_t>(lo) &&
         wide <= static_cast<int64_t>(hi);
    value = static_cast<T>(wide);
  }
  if (!ok || value < lo || value > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", Sv(name), "=", Sv(v), ": expected a number in [", lo, ", ", hi, "]"));
  }
  *out = value;
  return absl::OkStatus();
}

using Setter = std::function<absl::Status(Scenario&, std::string_view name, std::string_view v)>;

struct Flag {
  const char* name;
  const char* help;
  Setter set;
};

template <typename T>
Setter Num(T Scenario::*field, T lo, T hi) {
  return [=](Scenario& s, std::string_view n, std::string_view v) {
    return ParseNumber(n, v, &(s.*field), lo, hi);
  };
}
Setter Str(std::string Scenario::*field) {
  return [=](Scenario& s, std::string_view, std::string_view v) {
    s.*field = std::string(v);
    return absl::OkStatus();
  };
}
Setter Bool(bool Scenario::*field) {
  return [=](Scenario& s, std::string_view n, std::string_view v) {
    if (v.empty() || v == "true" || v == "1") {
      s.*field = true;
    } else if (v == "false" || v == "0") {
      s.*field = false;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--", Sv(n), "=", Sv(v), ": expected true/false"));
    }
    return absl::OkStatus();
  };
}

const std::vector<Flag>& Flags() {
  constexpr double kDay = 86400;
  static const auto* flags = new std::vector<Flag>{
      {"host", "broker address (default 127.0.0.1; non-loopback needs --allow-remote)",
       Str(&Scenario::host)},
      {"port", "broker port (default 1883)", Num<uint16_t>(&Scenario::port, 1, 65535)},
      {"allow-remote", "allow a non-loopback --host", Bool(&Scenario::allow_remote)},
      {"mqtt", "protocol version: 3 (3.1.1) or 5 (default 3)",
       [](Scenario& s, std::string_view n, std::string_view v) -> absl::Status {
         if (v == "3" || v == "3.1.1" || v == "4") {
           s.mqtt_version = 4;
         } else if (v == "5" || v == "5.0") {
           s.mqtt_version = 5;
         } else {
           return absl::InvalidArgumentError(
               absl::StrCat("--", Sv(n), "=", Sv(v), ": expected 3 or 5"));
         }
         return absl::OkStatus();
       }},
      {"publishers", "publisher connections", Num<uint32_t>(&Scenario::publishers, 0, 1000000)},
      {"subscribers", "subscriber connections", Num<uint32_t>(&Scenario::subscribers, 0, 1000000)},
      {"groups", "value range of {group} = index % groups",
       Num<uint32_t>(&Scenario::groups, 1, 1000000)},
      {"pub-topic", "publisher topic pattern ({id}, {group})", Str(&Scenario::pub_topic)},
      {"sub-filter", "subscriber filter pattern ({id}, {group})", Str(&Scenario::sub_filter)},
      {"qos", "publish and subscribe QoS: 0, 1, 2", Num<int>(&Scenario::qos, 0, 2)},
      {"payload", "payload bytes (>= 32: header with run id, publisher, seq, timestamp)",
       Num<uint32_t>(&Scenario::payload_size, 32, 16 << 20)},
      {"retain", "set the RETAIN flag on every PUBLISH", Bool(&Scenario::retain)},
      {"rate", "total messages/s (pub-sub) or connections/s (storm); 0 = open loop",
       Num<double>(&Scenario::rate, 0, 1e9)},
      {"max-owed",
       "open-loop bound: messages in flight per subscriber, run budget = this x min(subs, 4) "
       "(default 2000; QoS 1/2: 500)",
       Num<uint32_t>(&Scenario::max_owed, 1, 1 << 24)},
      {"ack-window", "per publisher: max unacknowledged QoS 1/2 PUBLISHes (default 256; QoS 2: 16)",
       Num<uint32_t>(&Scenario::ack_window, 1, 32768)},
      {"batch", "max PUBLISHes a publisher encodes per loop turn",
       Num<uint32_t>(&Scenario::batch, 1, 65536)},
      {"connections", "idle: connections to hold",
       Num<uint32_t>(&Scenario::connections, 1, 1000000)},
      {"concurrency", "storm/idle: connection attempts in flight",
       Num<uint32_t>(&Scenario::concurrency, 1, 100000)},
      {"backlog", "backlog/retained: messages per publisher",
       Num<uint32_t>(&Scenario::backlog, 1, 1 << 24)},
      {"duration", "seconds of load (default 10)", Num<double>(&Scenario::duration, 0.01, kDay)},
      {"drain", "seconds to wait for deliveries after publishing stops (default 2)",
       Num<double>(&Scenario::drain, 0, kDay)},
      {"time-limit", "hard limit in seconds; the run aborts past it (default duration+drain+10)",
       Num<double>(&Scenario::time_limit, 0, kDay)},
      {"connect-timeout", "seconds to wait for TCP connect + CONNACK (default 5)",
       Num<double>(&Scenario::connect_timeout, 0.01, 3600)},
      {"keepalive", "MQTT keep-alive seconds", Num<uint16_t>(&Scenario::keepalive, 0, 65535)},
      {"threads", "event-loop threads (connections are spread round-robin)",
       Num<uint32_t>(&Scenario::threads, 1, 256)},
      {"broker-pid", "sample this process's CPU and RSS",
       Num<int>(&Scenario::broker_pid, 0, 1 << 30)},
      {"json", "write the report as JSON to this file ('-' = stdout)", Str(&Scenario::json_path)},
      {"progress", "live progress line (default: when stderr is a terminal)",
       [](Scenario& s, std::string_view n, std::string_view v) -> absl::Status {
         bool b;
         if (v.empty() || v == "true" || v == "1") {
           b = true;
         } else if (v == "false" || v == "0") {
           b = false;
         } else {
           return absl::InvalidArgumentError(
               absl::StrCat("--", Sv(n), "=", Sv(v), ": expected true/false"));
         }
         s.progress = b ? 1 : 0;
         return absl::OkStatus();
       }},
      {"client-prefix", "client id prefix (default tqb)", Str(&Scenario::client_prefix)},
  };
  return *flags;
}

}  // namespace

std::string_view ModeName(Mode mode) {
  switch (mode) {
    case Mode::kPubSub:
      return "pubsub";
    case Mode::kStorm:
      return "storm";
    case Mode::kIdle:
      return "idle";
    case Mode::kBacklog:
      return "backlog";
    case Mode::kRetained:
      return "retained";
  }
  return "?";
}

std::string ExpandTopic(std::string_view pattern, uint32_t id, uint32_t groups) {
  return absl::StrReplaceAll(Sv(pattern), {{"{id}", absl::StrCat(id)},
                                           {"{group}", absl::StrCat(id % (groups ? groups : 1))}});
}

absl::StatusOr<Scenario> ParseScenario(const std::vector<std::string_view>& args) {
  // Split into (name, value) first so that --preset applies before the rest.
  std::vector<std::pair<std::string_view, std::string_view>> kv;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a.substr(0, 2) != "--") {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", Sv(a), "'"));
    }
    a.remove_prefix(2);
    std::string_view name = a, value;
    bool has_value = false;
    if (size_t eq = a.find('='); eq != std::string_view::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    // "--flag value" form, except for booleans that may stand alone.
    const bool boolean = name == "allow-remote" || name == "retain" || name == "progress";
    if (!has_value && !boolean) {
      if (i + 1 == args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", Sv(name), " needs a value"));
      }
      value = args[++i];
    }
    kv.emplace_back(name, value);
  }
  Scenario s;
  for (const auto& [name, value] : kv) {
    if (name != "preset") continue;
    const Preset* found = nullptr;
    for (const Preset& p : Presets()) {
      if (value == p.name) found = &p;
    }
    if (found == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--preset=", Sv(value), ": unknown preset (see --help)"));
    }
    s.preset = found->name;
    found->apply(s);
  }
  for (const auto& [name, value] : kv) {
    if (name == "preset") continue;
    const Flag* found = nullptr;
    for (const Flag& f : Flags()) {
      if (name == f.name) found = &f;
    }
    if (found == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", Sv(name), " (see --help)"));
    }
    if (absl::Status st = found->set(s, name, value); !st.ok()) return st;
  }
  // Cross-flag checks.
  if (s.mode == Mode::kPubSub && (s.publishers == 0 || s.subscribers == 0) &&
      s.publishers + s.subscribers == 0) {
    return absl::InvalidArgumentError("pub-sub needs at least one publisher or subscriber");
  }
  if ((s.mode == Mode::kBacklog || s.mode == Mode::kRetained) &&
      (s.publishers == 0 || s.subscribers == 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Sv(ModeName(s.mode)), " needs publishers and subscribers"));
  }
  if (s.mode == Mode::kBacklog && s.qos == 0) {
    return absl::InvalidArgumentError("backlog needs --qos=1 or 2 (QoS 0 is not queued)");
  }
  if (s.max_owed == 0) s.max_owed = s.qos == 0 ? 2000 : 500;
  if (s.ack_window == 0) s.ack_window = s.qos == 2 ? 16 : 256;
  if (s.time_limit == 0) s.time_limit = s.duration + s.drain + 10;
  if (s.time_limit < s.duration) {
    return absl::InvalidArgumentError("--time-limit must be >= --duration");
  }
  return s;
}

std::string ScenarioUsage() {
  std::string out =
      "usage: telemq-bench [--preset=NAME] [--flag=value ...]\n"
      "A preset fills defaults; explicit flags override it.\n\npresets:\n";
  for (const Preset& p : Presets()) absl::StrAppend(&out, "  ", p.name, ": ", p.help, "\n");
  absl::StrAppend(&out, "\nflags:\n");
  for (const Flag& f : Flags()) absl::StrAppend(&out, "  --", f.name, ": ", f.help, "\n");
  return out;
}

}  // namespace telemq::bench
