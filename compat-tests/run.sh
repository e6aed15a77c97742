#!/usr/bin/env bash
# Real-client compatibility suite for Brook.
#
#   compat-tests/run.sh [SUITE...]   SUITE: kcat confluent-kafka kafka-python kafkajs java crash groups groups848 share
#                                    security
#                                    (default: all)
#
# Environment:
#   BROOK_BIN   broker binary (default target/debug/brook, relative to the repo root)
#   BROKER      brook (default) | tansu (peer broker, development aid only)
#   SKIP_INSTALL=1   do not run scripts/install-clients.sh first
#   SUITE_TIMEOUT    per-suite hard limit in seconds (default 300)
#   see compat-tests/lib.sh for more (KEEP_TMP, BROOK_LOG_LEVEL, KCAT_LIBRDKAFKA, ...)
#
# Each suite starts its own broker(s) on a free loopback port with a fresh temp
# data dir and kills them when it ends.  Exit status is non-zero if any check fails.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

SUITES=("$@")
[ ${#SUITES[@]} -eq 0 ] && SUITES=(kcat confluent-kafka kafka-python kafkajs java crash groups groups848 share security)
BROKER=${BROKER:-brook}
export BROKER
SUITE_TIMEOUT=${SUITE_TIMEOUT:-300}

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  extra=()
  [ "$BROKER" = tansu ] && extra=(--with-tansu)
  if ! bash scripts/install-clients.sh "${extra[@]}"; then
    echo "FAIL: compat: scripts/install-clients.sh failed"
    echo "compat: 0 passed, 1 failed"
    exit 1
  fi
fi

if [ "$BROKER" = brook ]; then
  BIN=${BROOK_BIN:-target/debug/brook}
  case "$BIN" in /*) ;; *) BIN=$ROOT/$BIN ;; esac
  if [ ! -x "$BIN" ]; then
    echo "FAIL: compat: broker binary $BIN not found (build it with cargo build, or set BROOK_BIN)"
    echo "compat: 0 passed, 1 failed"
    exit 1
  fi
fi

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/brook-compat-run.XXXXXX")
trap 'rm -rf "$LOGDIR"' EXIT
declare -A RESULT COUNTS
total_pass=0
total_fail=0
t_all=$SECONDS
for s in "${SUITES[@]}"; do
  script=compat-tests/$s/run.sh
  if [ ! -f "$script" ]; then
    echo "FAIL: compat: no such suite $s"
    RESULT[$s]=MISSING; total_fail=$((total_fail + 1)); continue
  fi
  echo "=================== suite $s (broker: $BROKER) ==================="
  t0=$SECONDS
  # timeout puts the suite in its own process group and signals the whole group,
  # so brokers/producers a suite started die with it even if its trap cannot run.
  timeout -k 10 "$SUITE_TIMEOUT" bash "$script" 2>&1 | tee "$LOGDIR/$s.log"
  rc=${PIPESTATUS[0]}
  p=$(grep -c '^PASS: ' "$LOGDIR/$s.log")
  f=$(grep -c '^FAIL: ' "$LOGDIR/$s.log")
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "FAIL: $s: suite timed out after ${SUITE_TIMEOUT}s" | tee -a "$LOGDIR/$s.log"
    f=$((f + 1))
  elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
    echo "FAIL: $s: suite exited with status $rc" | tee -a "$LOGDIR/$s.log"
    f=$((f + 1))
  fi
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
  if [ "$f" = 0 ] && [ "$rc" = 0 ]; then RESULT[$s]=PASS; else RESULT[$s]=FAIL; fi
  COUNTS[$s]="$p passed, $f failed, $((SECONDS - t0))s"
done

echo
echo "=================== compat summary (broker: $BROKER) ==================="
for s in "${SUITES[@]}"; do
  printf '%-16s %-7s %s\n' "$s" "${RESULT[$s]}" "${COUNTS[$s]:-}"
done
if [ "$total_fail" -gt 0 ]; then
  echo "failed checks:"
  for s in "${SUITES[@]}"; do
    [ -f "$LOGDIR/$s.log" ] && grep '^FAIL: ' "$LOGDIR/$s.log" | cut -c1-300 | sed 's/^/  /'
  done
fi
echo "total time $((SECONDS - t_all))s"
echo "compat: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
