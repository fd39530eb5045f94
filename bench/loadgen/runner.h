// telemq-bench: one complete run of a scenario.
//
// Sets up the shared state, starts the worker threads, drives the phases of
// the scenario's mode, enforces the duration and the hard time limit, samples
// client and broker CPU/RSS over the measured window, and returns the merged
// figures. Never blocks past scenario.time_limit (+1 s to stop the workers);
// errors come back in Summary::exit_code / error.
//
// `interrupted` (e.g. set by SIGINT) ends the run early, as if the duration
// had passed.
#pragma once

#include <atomic>

#include "bench/loadgen/report.h"
#include "bench/loadgen/scenario.h"

namespace telemq::bench {

Summary RunScenario(const Scenario& scenario, const std::atomic<bool>& interrupted);

}  // namespace telemq::bench
