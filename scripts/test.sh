#!/usr/bin/env bash
# Runs every Brook test on a fresh machine: installs the real clients it needs (kcat from
# apt, confluent-kafka/kafka-python in a venv, the Apache Java client 3.9.1 jars), builds,
# runs the Rust unit + protocol tests, then the real-client compatibility and crash suites,
# then a bounded fuzzing run of every fuzz target (scripts/fuzz.sh).
# Bounded: each stage has a timeout; the whole run stays well under 30 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

stage() { echo; echo "=== $* ==="; }

stage "install clients"
timeout 900 scripts/install-clients.sh

stage "build"
timeout 1200 cargo build --locked --all-targets

stage "unit and protocol tests"
timeout 900 cargo test --locked -- --test-threads=2

stage "real-client compatibility tests"
BROOK_BIN=target/debug/brook timeout 1200 compat-tests/run.sh

stage "fuzzing (bounded: 12 s per target)"
timeout 900 scripts/fuzz.sh 12

echo
echo "all tests passed"
