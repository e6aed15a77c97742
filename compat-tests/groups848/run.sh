#!/usr/bin/env bash
# KIP-848 consumer-group suite (group.protocol=consumer): confluent-kafka (librdkafka 2.1x)
# members, each its own process (rdk848_member.py, driven by test_groups848.py), and the
# Java client 3.9.1 (java/Groups848.java: consumers in threads plus the AdminClient).
# The Java program runs in parallel with the python scenarios; the broker restart
# scenario runs last, alone.
#
# The broker runs with short consumer-group timers so that a SIGKILLed member is noticed
# quickly: session timeout 6 s (minimum 3 s), heartbeat interval 1 s (minimum 0.5 s).
#
# The online-upgrade scenarios (KIP-848 migration: classic members in a consumer group) run
# after the first python batch, still beside the Java program: upgrade, classiconly (python),
# jupgrade (Java, in the same program as the java checks).
#
#   G848_ONLY="split leave static regex takeover restart java upgrade classiconly jupgrade"
#                                                               a subset (default: all)
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
suite_init groups848

# G848_JAVA_CLASSES: where javac puts the classes (e.g. outside a .cache shared by worktrees)
G848_JAVA_CLASSES=${G848_JAVA_CLASSES:-$CACHE_DIR/groups848-java-classes}
G848_SESSION_MS=6000

# javac compat-tests/groups848/java (+ the slf4j binding of the java suite), when newer.
g848_java_compile() {
  local stamp=$G848_JAVA_CLASSES/.stamp
  local srcs=("$COMPAT_DIR"/groups848/java/*.java "$COMPAT_DIR"/java/src/org/slf4j/impl/StaticLoggerBinder.java)
  [ -s "$CACHE_DIR/java/kafka-clients.jar" ] || { echo "java client jars missing: run scripts/install-clients.sh" >&2; return 1; }
  if [ -f "$stamp" ] && [ -z "$(find "${srcs[@]}" -newer "$stamp" | head -n1)" ]; then return 0; fi
  rm -rf "$G848_JAVA_CLASSES"
  mkdir -p "$G848_JAVA_CLASSES"
  javac -nowarn -encoding UTF-8 -d "$G848_JAVA_CLASSES" -cp "$CACHE_DIR/java/*" "${srcs[@]}" && touch "$stamp"
}

ONLY=" ${G848_ONLY:-split leave static regex takeover restart java upgrade classiconly jupgrade} "
PY_SCEN=()
for s in split leave static regex takeover; do [[ "$ONLY" == *" $s "* ]] && PY_SCEN+=("$s"); done
UP_SCEN=()
for s in upgrade classiconly; do [[ "$ONLY" == *" $s "* ]] && UP_SCEN+=("$s"); done
JAVA_SCEN=()
[[ "$ONLY" == *" java "* ]] && JAVA_SCEN+=(base)
[[ "$ONLY" == *" jupgrade "* ]] && JAVA_SCEN+=(upgrade)

export BROOK_EXTRA_ARGS="${BROOK_EXTRA_ARGS:-} --group-consumer-min-session-timeout-ms 3000 \
--group-consumer-session-timeout-ms $G848_SESSION_MS --group-consumer-min-heartbeat-interval-ms 500 \
--group-consumer-heartbeat-interval-ms 1000 --group-initial-rebalance-delay-ms 0"
PORT=$(free_port)
DATA=$SUITE_TMP/data
BLOG=$SUITE_TMP/broker.log
start_broker "$PORT" "$DATA" "$BLOG" || { fail "groups848: broker did not start"; suite_finish; }
export BOOTSTRAP=127.0.0.1:$PORT SESSION_MS=$G848_SESSION_MS
log "broker pid $BROKER_PID on $BOOTSTRAP (extra args:$BROOK_EXTRA_ARGS)"

# test_groups848.py restarts the broker through this command; the live pid is kept in a
# file so that the cleanup below kills whichever broker is running.
export BROKER_PID_FILE=$SUITE_TMP/broker.pid
echo "$BROKER_PID" >"$BROKER_PID_FILE"
export G848_PORT=$PORT G848_DATA=$DATA G848_BLOG=$BLOG
export RESTART_CMD="bash '$COMPAT_DIR/groups848/restart_broker.sh'"
trap 'kill -KILL "$(cat "$BROKER_PID_FILE" 2>/dev/null)" 2>/dev/null || true; suite_cleanup' EXIT
mkdir -p "$SUITE_TMP/members"

JAVA_PID=
JAVA_OUT=$SUITE_TMP/java.out
if [ ${#JAVA_SCEN[@]} -gt 0 ]; then
  if g848_java_compile; then
    log "java: Groups848 ${JAVA_SCEN[*]} (in the background)"
    # shellcheck disable=SC2086  # JAVA_OPTS_COMPAT is word-split on purpose
    timeout -k 5 200 java $JAVA_OPTS_COMPAT -cp "$G848_JAVA_CLASSES:$CACHE_DIR/java/*" Groups848 "$BOOTSTRAP" \
      "${JAVA_SCEN[@]}" >"$JAVA_OUT" 2>"$SUITE_TMP/java.log" &
    JAVA_PID=$!
  else
    fail "groups848: javac failed; java checks skipped"
  fi
fi

if [ ${#PY_SCEN[@]} -gt 0 ]; then
  LOGDIR=$SUITE_TMP/members run_checks groups848-python 200 "$PY" "$COMPAT_DIR/groups848/test_groups848.py" "${PY_SCEN[@]}"
fi
if [ ${#UP_SCEN[@]} -gt 0 ]; then
  LOGDIR=$SUITE_TMP/members run_checks groups848-upgrade 200 "$PY" "$COMPAT_DIR/groups848/test_groups848.py" "${UP_SCEN[@]}"
fi

if [ -n "$JAVA_PID" ]; then
  set +e
  wait "$JAVA_PID"
  rc=$?
  set -e
  cat "$JAVA_OUT"
  count_results "$JAVA_OUT"
  if [ "$rc" != 0 ] && ! grep -q '^FAIL: ' "$JAVA_OUT"; then
    fail "groups848: java: exited with status $rc$( [ "$rc" = 124 ] && echo ' (timed out after 200s)')"
    tail -n 20 "$SUITE_TMP/java.log"
  fi
fi

if [[ "$ONLY" == *" restart "* ]]; then
  LOGDIR=$SUITE_TMP/members run_checks groups848-restart 120 "$PY" "$COMPAT_DIR/groups848/test_groups848.py" restart
fi

BROKER_PID=$(cat "$BROKER_PID_FILE")
_BROKER_PIDS+=("$BROKER_PID")
# tracing colours the level: match "ERROR" after an optional escape sequence
if grep -qE '(^|[ m])ERROR|panicked at' "$BLOG"; then
  fail "groups848: broker log has errors: $(grep -E '(^|[ m])ERROR|panicked at' "$BLOG" | head -n 3 | cut -c1-300 | tr '\n' ' ')"
else
  pass "groups848: no ERROR or panic in the broker log"
fi
kill -0 "$BROKER_PID" 2>/dev/null && pass "groups848: broker still running at end" \
  || fail "groups848: broker process died during the suite"
suite_finish
