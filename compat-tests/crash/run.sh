#!/usr/bin/env bash
# Crash suite: two idempotent producers (Java default producer, and confluent-kafka
# with enable.idempotence=true) send sequence-numbered records to their own
# 3-partition topic while the broker is kill -9'd and restarted on the same data
# dir and port, CYCLES times (default 5).  Then every acknowledged record must be present,
# once, in order.  Bounded: ~CYCLES * 3.5 s of chaos + producer drain (<= 80 s)
# + verification (<= 60 s per topic; a few seconds when the broker is healthy).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
suite_init crash

CYCLES=${CRASH_CYCLES:-5}
PORT=$(free_port)
DATA=$SUITE_TMP/data
BLOG=$SUITE_TMP/broker.log
export BOOTSTRAP=127.0.0.1:$PORT
RESTARTS=$SUITE_TMP/restarts.txt
STOP=$SUITE_TMP/stop
: >"$RESTARTS"

if [ "$BROKER" = tansu ]; then
  log "NOTE: tansu runs with memory storage; it loses data on kill -9, so failures are expected here"
fi

have_java=1
java_compile || { fail "crash: javac failed; java producer skipped"; have_java=0; }

start_broker "$PORT" "$DATA" "$BLOG" || { fail "crash: broker did not start"; suite_finish; }
log "broker pid $BROKER_PID on $BOOTSTRAP, data $DATA"

T_JAVA=crash-java-$$
T_RDK=crash-rdk-$$
"$PY" - "$T_JAVA" "$T_RDK" <<'EOF'
import sys
from compat import ck_create_topic
for t in sys.argv[1:]:
    ck_create_topic(t, 3)
EOF

PRODUCER_MAX_S=$((CYCLES * 5 + 30))
MAX_RECORDS=2000000   # a safety cap only: producers stop on $STOP (rate CRASH_RATE, default 1500/s)
PIDS=()
if [ "$have_java" = 1 ]; then
  java $JAVA_OPTS_COMPAT -cp "$JAVA_CP" CrashProducer "$BOOTSTRAP" "$T_JAVA" "$SUITE_TMP/acks-java.txt" "$STOP" \
    "$PRODUCER_MAX_S" "$MAX_RECORDS" >"$SUITE_TMP/producer-java.log" 2>&1 &
  PIDS+=($!); JAVA_PID=$!
fi
"$PY" "$COMPAT_DIR/crash/crash_producer.py" "$BOOTSTRAP" "$T_RDK" "$SUITE_TMP/acks-rdk.txt" "$STOP" \
  "$PRODUCER_MAX_S" "$MAX_RECORDS" >"$SUITE_TMP/producer-rdk.log" 2>&1 &
PIDS+=($!); RDK_PID=$!

sleep 2
restart_ok=1
for i in $(seq 1 "$CYCLES"); do
  # 2.0 .. 3.9 s of traffic, then crash
  sleep "$((2 + RANDOM % 2)).$((RANDOM % 10))"
  log "cycle $i/$CYCLES: kill -9 broker pid $BROKER_PID"
  kill9_broker "$BROKER_PID"
  sleep 0.$((RANDOM % 5 + 1))
  if ! start_broker "$PORT" "$DATA" "$BLOG"; then
    fail "crash: broker restart #$i on the same data dir did not come up"
    restart_ok=0
    break
  fi
  echo "restart $(($(date +%s%N) / 1000000)) pid=$BROKER_PID" >>"$RESTARTS"
  log "cycle $i/$CYCLES: restarted, pid $BROKER_PID"
done
[ "$restart_ok" = 1 ] && pass "crash: broker restarted $CYCLES times after kill -9 on the same data dir and port"

sleep 3
touch "$STOP"
# Producers drain (close/flush bounded at 60 s inside them); hard cap here too.
deadline=$((SECONDS + 80))
for pid in "${PIDS[@]}"; do
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    fail "crash: producer pid $pid did not finish within the drain deadline"
  fi
  wait "$pid" 2>/dev/null || true
done
cat "$SUITE_TMP"/producer-*.log | grep -v '^SLF4J' | tail -n 20 || true

if [ "$have_java" = 1 ]; then
  run_checks verify-java 75 "$PY" "$COMPAT_DIR/crash/verify.py" java-default-producer "$T_JAVA" 3 \
    "$SUITE_TMP/acks-java.txt" "$RESTARTS"
fi
run_checks verify-rdk 75 "$PY" "$COMPAT_DIR/crash/verify.py" confluent-idempotent "$T_RDK" 3 \
  "$SUITE_TMP/acks-rdk.txt" "$RESTARTS"

# Graceful stop, then a last restart: the data must still be all there (clean-shutdown path).
stop_broker "$BROKER_PID"
if start_broker "$PORT" "$DATA" "$BLOG"; then
  if [ "$have_java" = 1 ]; then
    run_checks verify-java-after-clean-restart 75 "$PY" "$COMPAT_DIR/crash/verify.py" \
      java-default-producer-after-clean-restart "$T_JAVA" 3 "$SUITE_TMP/acks-java.txt" "$RESTARTS" data-only
  fi
  run_checks verify-rdk-after-clean-restart 75 "$PY" "$COMPAT_DIR/crash/verify.py" \
    confluent-idempotent-after-clean-restart "$T_RDK" 3 "$SUITE_TMP/acks-rdk.txt" "$RESTARTS" data-only
else
  fail "crash: broker did not start after a graceful stop"
fi
stop_broker "$BROKER_PID"

# Transaction phase (CRASH_TXN=0 skips it): see txn_phase.sh.
if [ "${CRASH_TXN:-1}" = 1 ]; then
  . "$COMPAT_DIR/crash/txn_phase.sh"
  txn_phase
fi
suite_finish
