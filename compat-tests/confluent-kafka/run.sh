#!/usr/bin/env bash
# confluent-kafka (python, librdkafka 2.x) suite: one broker; test_confluent.py runs all the
# client checks in one process, then eos_test.py kill -9s an exactly-once
# consume-transform-produce app (eos_app.py) EOS_KILLS times (default 5) and checks its
# output (about 45 s, mostly the group's 6 s session timeout after each kill).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
suite_init confluent-kafka

PORT=$(free_port)
start_broker "$PORT" "$SUITE_TMP/data" "$SUITE_TMP/broker.log" || { fail "confluent-kafka: broker did not start"; suite_finish; }
export BOOTSTRAP=127.0.0.1:$PORT
log "broker pid $BROKER_PID on $BOOTSTRAP"

run_checks confluent 240 "$PY" "$COMPAT_DIR/confluent-kafka/test_confluent.py"
SUITE_TMP=$SUITE_TMP run_checks eos 180 "$PY" "$COMPAT_DIR/confluent-kafka/eos_test.py"

kill -0 "$BROKER_PID" 2>/dev/null && pass "confluent-kafka: broker still running at end" \
  || fail "confluent-kafka: broker process died during the suite"
suite_finish
