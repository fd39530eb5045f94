#include "bench/loadgen/report.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace telemq::bench {
namespace {

constexpr double kPercentiles[] = {50, 90, 99, 99.9};

std::string Duration(uint64_t ns) {
  if (ns < 10'000) return absl::StrCat(ns, " ns");
  if (ns < 10'000'000) return absl::StrFormat("%.1f us", ns / 1e3);
  if (ns < 10'000'000'000) return absl::StrFormat("%.2f ms", ns / 1e6);
  return absl::StrFormat("%.2f s", ns / 1e9);
}

std::string Rate(double r) {
  if (r >= 1e6) return absl::StrFormat("%.3fM/s", r / 1e6);
  if (r >= 1e3) return absl::StrFormat("%.2fk/s", r / 1e3);
  return absl::StrFormat("%.1f/s", r);
}

void TableLatency(std::string* out, const char* name, const Histogram& h) {
  if (h.count() == 0) return;
  absl::StrAppendFormat(out, "  %-17s", name);
  for (double p : kPercentiles) {
    absl::StrAppendFormat(out, " p%g %s", p, Duration(h.Percentile(p)));
  }
  absl::StrAppendFormat(out, "  max %s  (n=%u)\n", Duration(h.max()), h.count());
}

// JSON numbers: finite doubles only (NaN/inf become 0).
std::string Num(double v) { return std::isfinite(v) ? absl::StrFormat("%.6g", v) : "0"; }

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string JsonLatency(const Histogram& h) {
  std::string out = absl::StrCat("{\"count\": ", h.count());
  absl::StrAppend(&out, ", \"min_ns\": ", h.min(), ", \"mean_ns\": ", Num(h.Mean()));
  absl::StrAppend(&out, ", \"p50_ns\": ", h.Percentile(50), ", \"p90_ns\": ", h.Percentile(90));
  absl::StrAppend(&out, ", \"p99_ns\": ", h.Percentile(99), ", \"p999_ns\": ", h.Percentile(99.9));
  absl::StrAppend(&out, ", \"max_ns\": ", h.max(), "}");
  return out;
}

}  // namespace

double Summary::ClientNsPerMessage() const {
  return Messages() ? client_cpu_s * 1e9 / static_cast<double>(Messages()) : 0;
}
double Summary::BrokerNsPerMessage() const {
  return Messages() && broker_sampled ? broker_cpu_s * 1e9 / static_cast<double>(Messages()) : 0;
}

std::string FormatTable(const Summary& s) {
  const Scenario& c = s.scenario;
  std::string out;
  absl::StrAppendFormat(&out,
                        "telemq-bench  preset %s  mode %s  MQTT %s  QoS %d  %u pub -> %u sub  "
                        "payload %u B  rate %s  target %s:%u\n",
                        c.preset, ModeName(c.mode), c.mqtt_version == 5 ? "5.0" : "3.1.1", c.qos,
                        c.publishers, c.subscribers, c.payload_size,
                        c.rate > 0 ? Rate(c.rate) : std::string("open loop"), c.host, c.port);
  absl::StrAppendFormat(&out, "  window            %.3f s\n", s.window_s);
  if (c.mode == Mode::kStorm || c.mode == Mode::kIdle) {
    absl::StrAppendFormat(&out, "  connects          %u (%s), failures %u\n", s.connects,
                          Rate(s.PerSecond(s.connects)), s.connect_failures);
    if (c.mode == Mode::kIdle) {
      absl::StrAppendFormat(&out, "  held              %u connections\n", s.held_connections);
    }
  } else {
    absl::StrAppendFormat(&out, "  sent              %u (%s)\n", s.sent, Rate(s.PerSecond(s.sent)));
    if (c.qos > 0) {
      absl::StrAppendFormat(&out, "  acked             %u (%s)\n", s.acked,
                            Rate(s.PerSecond(s.acked)));
    }
    absl::StrAppendFormat(&out, "  delivered         %u (%s) of %u expected\n", s.delivered,
                          Rate(s.PerSecond(s.delivered)), s.expected);
    absl::StrAppendFormat(&out,
                          "  loss              lost %u  duplicates %u  reordered %u  stalls %u"
                          "  foreign %u\n",
                          s.lost, s.duplicates, s.reordered, s.stalls, s.foreign);
  }
  TableLatency(&out, "latency e2e", s.latency);
  TableLatency(&out, "latency ack", s.ack_latency);
  TableLatency(&out, "latency connect", s.connect_latency);
  absl::StrAppendFormat(
      &out, "  client            cpu %.3f s  %.0f ns/msg  %.1f msgs/write  %.1f msgs/read\n",
      s.client_cpu_s, s.ClientNsPerMessage(),
      s.writes ? static_cast<double>(s.sent) / s.writes : 0.0,
      s.reads ? static_cast<double>(s.delivered) / s.reads : 0.0);
  if (s.broker_sampled) {
    absl::StrAppendFormat(&out, "  broker            cpu %.3f s (%.0f%% of a core)  %.0f ns/msg",
                          s.broker_cpu_s, s.window_s > 0 ? 100 * s.broker_cpu_s / s.window_s : 0,
                          s.BrokerNsPerMessage());
    absl::StrAppendFormat(&out, "  rss %.1f -> %.1f MiB", s.broker_rss_start / 1048576.0,
                          s.broker_rss_end / 1048576.0);
    if (c.mode == Mode::kIdle && s.held_connections > 0) {
      absl::StrAppendFormat(
          &out, "  (%.0f B/connection)",
          (static_cast<double>(s.broker_rss_end) - static_cast<double>(s.broker_rss_start)) /
              s.held_connections);
    }
    out += "\n";
  }
  if (s.exit_code != 0) absl::StrAppend(&out, "  ERROR             ", s.error, "\n");
  return out;
}

std::string FormatJson(const Summary& s) {
  const Scenario& c = s.scenario;
  std::string o = "{\n";
  absl::StrAppend(&o, "  \"tool\": \"telemq-bench\",\n  \"run_id\": ", s.run_id, ",\n");
  absl::StrAppend(&o, "  \"scenario\": {\"preset\": ", JsonString(c.preset),
                  ", \"mode\": ", JsonString(ModeName(c.mode)),
                  ", \"mqtt\": ", c.mqtt_version == 5 ? "\"5.0\"" : "\"3.1.1\"",
                  ", \"qos\": ", c.qos, ", \"publishers\": ", c.publishers,
                  ", \"subscribers\": ", c.subscribers, ", \"payload\": ", c.payload_size,
                  ", \"rate\": ", Num(c.rate), ", \"duration_s\": ", Num(c.duration),
                  ", \"max_owed\": ", c.max_owed, ", \"threads\": ", c.threads,
                  ", \"host\": ", JsonString(c.host), ", \"port\": ", c.port, "},\n");
  absl::StrAppend(&o, "  \"window_s\": ", Num(s.window_s), ",\n");
  absl::StrAppend(&o, "  \"sent\": ", s.sent, ", \"acked\": ", s.acked,
                  ", \"delivered\": ", s.delivered, ", \"expected\": ", s.expected,
                  ", \"distinct\": ", s.distinct, ",\n");
  absl::StrAppend(&o, "  \"lost\": ", s.lost, ", \"duplicates\": ", s.duplicates,
                  ", \"reordered\": ", s.reordered, ", \"stalls\": ", s.stalls,
                  ", \"foreign\": ", s.foreign, ", \"retained_flagged\": ", s.retained_flagged,
                  ",\n");
  absl::StrAppend(&o, "  \"sent_per_s\": ", Num(s.PerSecond(s.sent)),
                  ", \"acked_per_s\": ", Num(s.PerSecond(s.acked)),
                  ", \"delivered_per_s\": ", Num(s.PerSecond(s.delivered)), ",\n");
  absl::StrAppend(&o, "  \"connects\": ", s.connects,
                  ", \"connect_failures\": ", s.connect_failures,
                  ", \"connects_per_s\": ", Num(s.PerSecond(s.connects)),
                  ", \"held_connections\": ", s.held_connections, ",\n");
  absl::StrAppend(&o, "  \"latency\": ", JsonLatency(s.latency), ",\n");
  absl::StrAppend(&o, "  \"ack_latency\": ", JsonLatency(s.ack_latency), ",\n");
  absl::StrAppend(&o, "  \"connect_latency\": ", JsonLatency(s.connect_latency), ",\n");
  absl::StrAppend(&o, "  \"client\": {\"cpu_s\": ", Num(s.client_cpu_s),
                  ", \"ns_per_msg\": ", Num(s.ClientNsPerMessage()), ", \"writes\": ", s.writes,
                  ", \"reads\": ", s.reads, ", \"bytes_out\": ", s.bytes_out,
                  ", \"bytes_in\": ", s.bytes_in, "},\n");
  if (s.broker_sampled) {
    const double per_conn =
        s.held_connections
            ? (static_cast<double>(s.broker_rss_end) - static_cast<double>(s.broker_rss_start)) /
                  s.held_connections
            : 0;
    absl::StrAppend(&o, "  \"broker\": {\"cpu_s\": ", Num(s.broker_cpu_s),
                    ", \"cpu_pct\": ", Num(s.window_s > 0 ? 100 * s.broker_cpu_s / s.window_s : 0),
                    ", \"ns_per_msg\": ", Num(s.BrokerNsPerMessage()),
                    ", \"rss_start_bytes\": ", s.broker_rss_start,
                    ", \"rss_end_bytes\": ", s.broker_rss_end,
                    ", \"rss_bytes_per_connection\": ", Num(per_conn), "},\n");
  } else {
    absl::StrAppend(&o, "  \"broker\": null,\n");
  }
  absl::StrAppend(&o, "  \"exit_code\": ", s.exit_code, ", \"error\": ", JsonString(s.error),
                  "\n}\n");
  return o;
}

}  // namespace telemq::bench
