#include "broker/base/log.h"

#include <unistd.h>

#include <ctime>

namespace telemq {
namespace log_internal {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
}  // namespace log_internal

namespace {
std::atomic<void (*)(const std::string&)> g_sink{nullptr};
thread_local int t_shard = -1;
}  // namespace

bool ParseLogLevel(const std::string& name, LogLevel* out) {
  if (name == "error")
    *out = LogLevel::kError;
  else if (name == "warning" || name == "warn")
    *out = LogLevel::kWarning;
  else if (name == "info")
    *out = LogLevel::kInfo;
  else if (name == "debug")
    *out = LogLevel::kDebug;
  else
    return false;
  return true;
}

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "?";
}

void SetLogLevel(LogLevel level) {
  log_internal::g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

void SetLogSink(void (*sink)(const std::string& line)) { g_sink.store(sink); }

void SetLogShard(int shard) { t_shard = shard; }

void log_internal::Emit(LogLevel level, const std::string& message) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  static constexpr char kLetters[] = {'E', 'W', 'I', 'D'};
  std::string line =
      absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %c ", utc.tm_year + 1900, utc.tm_mon + 1,
                      utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                      static_cast<int>(ts.tv_nsec / 1'000'000), kLetters[static_cast<int>(level)]);
  if (t_shard >= 0) absl::StrAppendFormat(&line, "shard=%d ", t_shard);
  line += message;
  line += '\n';
  if (auto* sink = g_sink.load()) {
    sink(line);
    return;
  }
  // One write per line: atomic with respect to other threads' lines.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace telemq
