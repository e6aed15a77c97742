#!/usr/bin/env bash
# Apache Kafka Java client 3.9.1 suite: compiles compat-tests/java/src with javac
# against .cache/java/*.jar into .cache/java-classes, then runs CompatTest in one JVM.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
suite_init java

if ! java_compile; then
  fail "java: javac failed"
  suite_finish
fi

PORT=$(free_port)
# Transactions past their timeout are looked for every second (Kafka's default is 10 s), so
# the timeout check of CompatTest.transactionEdges ends soon.
BROOK_EXTRA_ARGS="${BROOK_EXTRA_ARGS:-} --transaction-abort-timed-out-transaction-cleanup-interval-ms 1000"
start_broker "$PORT" "$SUITE_TMP/data" "$SUITE_TMP/broker.log" || { fail "java: broker did not start"; suite_finish; }
export BOOTSTRAP=127.0.0.1:$PORT
log "broker pid $BROKER_PID on $BOOTSTRAP"

run_checks java 300 java $JAVA_OPTS_COMPAT -cp "$JAVA_CP" CompatTest "$BOOTSTRAP" "$AUTO_CREATE_PARTITIONS"

kill -0 "$BROKER_PID" 2>/dev/null && pass "java: broker still running at end" \
  || fail "java: broker process died during the suite"
suite_finish
