// telemq-bench: an MQTT 3.1.1 / 5.0 load generator. See --help and
// docs/benchmarks.md.
//
// Exit status: 0 ok, 1 bad usage, 2 setup failed (connect, CONNACK,
// SUBACK), 3 failure during the run (connection dropped, malformed packet,
// interrupted), 4 hard time limit reached.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/loadgen/report.h"
#include "bench/loadgen/run_state.h"
#include "bench/loadgen/runner.h"
#include "bench/loadgen/scenario.h"

namespace {

std::atomic<bool> g_interrupted{false};

void OnSignal(int) { g_interrupted.store(true); }

void RaiseFileLimit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace telemq::bench;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::string_view a : args) {
    if (a == "--help" || a == "-h") {
      fputs(ScenarioUsage().c_str(), stdout);
      return kExitOk;
    }
  }
  auto scenario = ParseScenario(args);
  if (!scenario.ok()) {
    fprintf(stderr, "telemq-bench: %s\n", std::string(scenario.status().message()).c_str());
    return kExitUsage;
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  RaiseFileLimit();

  // Last-resort watchdog: the runner stops itself at the time limit; if
  // anything were ever stuck, the process still ends shortly after it.
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  const double limit = scenario->time_limit + 5;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::duration<double>(limit), [&] { return finished; })) {
      fprintf(stderr, "telemq-bench: still running %.0f s after start; aborting\n", limit);
      _exit(kExitTimeLimit);
    }
  });

  Summary summary = RunScenario(*scenario, g_interrupted);
  {
    std::lock_guard<std::mutex> lock(mu);
    finished = true;
  }
  cv.notify_all();
  watchdog.join();

  // Nothing was measured when the setup failed: the error alone says it.
  if (summary.exit_code == kExitUsage || summary.exit_code == kExitSetup) {
    fprintf(stderr, "telemq-bench: %s\n", summary.error.c_str());
    return summary.exit_code;
  }
  fputs(FormatTable(summary).c_str(), stdout);
  fflush(stdout);
  if (!scenario->json_path.empty()) {
    const std::string json = FormatJson(summary);
    if (scenario->json_path == "-") {
      fputs(json.c_str(), stdout);
    } else {
      std::ofstream out(scenario->json_path);
      out << json;
      if (!out) fprintf(stderr, "telemq-bench: cannot write %s\n", scenario->json_path.c_str());
    }
  }
  if (summary.exit_code != 0) fprintf(stderr, "telemq-bench: error: %s\n", summary.error.c_str());
  return summary.exit_code;
}
