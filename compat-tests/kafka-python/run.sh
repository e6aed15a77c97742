#!/usr/bin/env bash
# kafka-python suite (pure-python client): one broker, one process.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
suite_init kafka-python

PORT=$(free_port)
start_broker "$PORT" "$SUITE_TMP/data" "$SUITE_TMP/broker.log" || { fail "kafka-python: broker did not start"; suite_finish; }
export BOOTSTRAP=127.0.0.1:$PORT
log "broker pid $BROKER_PID on $BOOTSTRAP"

run_checks kafka-python 180 "$PY" "$COMPAT_DIR/kafka-python/test_kafka_python.py"

kill -0 "$BROKER_PID" 2>/dev/null && pass "kafka-python: broker still running at end" \
  || fail "kafka-python: broker process died during the suite"
suite_finish
