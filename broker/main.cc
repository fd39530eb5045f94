// telemq: the broker binary, a thin shell over telemq::Broker (server.h).
//
//   telemq [--config FILE] [--port 1883] [--threads N] [--data-dir DIR] ...
//   telemq --help
//
// Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 1 when the broker
// cannot start (address in use, kernel without io_uring...), 2 for a bad
// command line or config file.
#include <signal.h>

#include <cstdio>

#include "broker/base/log.h"
#include "broker/config.h"
#include "broker/server.h"

int main(int argc, char** argv) {
  absl::StatusOr<telemq::BrokerConfig> config = telemq::ParseCommandLine(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "telemq: %s\n(run 'telemq --help' for the settings)\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  if (config->help) {
    std::fputs(telemq::ConfigUsage().c_str(), stdout);
    return 0;
  }
  telemq::LogLevel level;
  telemq::ParseLogLevel(config->log_level, &level);
  telemq::SetLogLevel(level);

  // Block the stop signals before any thread starts, so they all inherit the
  // mask and only this thread receives them, in sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  telemq::Broker broker(*config);
  if (absl::Status s = broker.Start(); !s.ok()) {
    std::fprintf(stderr, "telemq: cannot start: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  TELEMQ_LOG(kInfo, "telemq %s listening on %s:%u (MQTT 3.1.1/5.0), %u shard threads, data in %s",
             TELEMQ_VERSION, config->host, broker.port(), broker.shard_count(), config->data_dir);
  TELEMQ_LOG(kInfo, "io_uring: %s", broker.io_features());
  TELEMQ_LOG(kInfo, "%s", broker.recovery_summary());

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  TELEMQ_LOG(kInfo, "received %s: stopping (closing clients, flushing output)",
             signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  broker.Stop();
  broker.Wait();
  TELEMQ_LOG(kInfo, "stopped");
  return 0;
}
