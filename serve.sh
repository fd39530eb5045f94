#!/usr/bin/env bash
# The run command: installs what is missing, builds the release binary and
# starts the broker in the foreground with the default configuration
# (MQTT on 127.0.0.1:1883, data in ./data). Extra arguments go to telemq:
#
#   bash serve.sh                      # defaults
#   bash serve.sh --port 1884 --threads 1
#   bash serve.sh --help               # every setting
#
# Stop it with Ctrl-C (SIGINT): it closes clients cleanly and exits 0.
set -euo pipefail
cd "$(dirname "$0")"
bash .ci/setup build
cmake --preset release >/dev/null
cmake --build --preset release --target telemq -j "$(nproc)"
exec build/release/broker/telemq "$@"
