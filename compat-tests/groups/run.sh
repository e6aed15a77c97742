#!/usr/bin/env bash
# Consumer-group suite: kcat -G (librdkafka 2.0.2), confluent-kafka (librdkafka 2.1x)
# and the Java client 3.9.1 as group members, each member its own process.
# test_groups.py drives them (see its docstring); the clients' scenarios run in
# parallel, then one broker kill -9 + restart on the same data dir checks that
# committed offsets survive.
#
# The broker runs with --group-initial-rebalance-delay-ms 0 (default 3000) so a new
# group's first rebalance does not wait 3 s; every other group setting is the default
# (group.min.session.timeout.ms 6000: the SIGKILL checks use session.timeout.ms=6000,
# the static-membership checks 10000).
#
#   GROUPS_CLIENTS="kcat rdk java"   which clients (default all three)
#   GROUPS_ONLY="range kill,static"  only scenarios whose name contains one of these
#   GROUPS_SERIAL=1                  clients one after another instead of in parallel
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
suite_init groups

GROUP_JAVA_CLASSES=$CACHE_DIR/groups-java-classes
export JAVA_CP="$GROUP_JAVA_CLASSES:$CACHE_DIR/java/*"
export JAVA_OPTS_COMPAT

# javac compat-tests/groups/java (+ the slf4j binding of the java suite), when newer.
groups_java_compile() {
  local stamp=$GROUP_JAVA_CLASSES/.stamp
  local srcs=("$COMPAT_DIR"/groups/java/*.java "$COMPAT_DIR"/java/src/org/slf4j/impl/StaticLoggerBinder.java)
  [ -s "$CACHE_DIR/java/kafka-clients.jar" ] || { echo "java client jars missing: run scripts/install-clients.sh" >&2; return 1; }
  if [ -f "$stamp" ] && [ -z "$(find "${srcs[@]}" -newer "$stamp" | head -n1)" ]; then return 0; fi
  rm -rf "$GROUP_JAVA_CLASSES"
  mkdir -p "$GROUP_JAVA_CLASSES"
  javac -nowarn -encoding UTF-8 -d "$GROUP_JAVA_CLASSES" -cp "$CACHE_DIR/java/*" "${srcs[@]}" && touch "$stamp"
}

CLIENTS=${GROUPS_CLIENTS:-kcat rdk java}
if [[ " $CLIENTS " == *" java "* ]] && ! groups_java_compile; then
  fail "groups: javac failed; java members skipped"
  CLIENTS=${CLIENTS//java/}
fi
setup_kcat

export BROOK_EXTRA_ARGS="${BROOK_EXTRA_ARGS:---group-initial-rebalance-delay-ms 0}"
PORT=$(free_port)
DATA=$SUITE_TMP/data
BLOG=$SUITE_TMP/broker.log
start_broker "$PORT" "$DATA" "$BLOG" || { fail "groups: broker did not start"; suite_finish; }
export BOOTSTRAP=127.0.0.1:$PORT
log "broker pid $BROKER_PID on $BOOTSTRAP (extra args: $BROOK_EXTRA_ARGS)"

# test_groups.py restarts the broker through this command; the live pid is kept in
# a file so that the cleanup below kills whichever broker is running.
export BROKER_PID_FILE=$SUITE_TMP/broker.pid
echo "$BROKER_PID" >"$BROKER_PID_FILE"
export GROUPS_PORT=$PORT GROUPS_DATA=$DATA GROUPS_BLOG=$BLOG
export RESTART_CMD="bash '$COMPAT_DIR/groups/restart_broker.sh'"
trap 'kill -KILL "$(cat "$BROKER_PID_FILE" 2>/dev/null)" 2>/dev/null || true; suite_cleanup' EXIT

mkdir -p "$SUITE_TMP/members"
# shellcheck disable=SC2086  # CLIENTS is a word list
LOGDIR=$SUITE_TMP/members run_checks groups 280 "$PY" "$COMPAT_DIR/groups/test_groups.py" $CLIENTS

BROKER_PID=$(cat "$BROKER_PID_FILE")
_BROKER_PIDS+=("$BROKER_PID")
# tracing colours the level: match "ERROR" after an optional escape sequence
if grep -qE '(^|[ m])ERROR|panicked at' "$BLOG"; then
  fail "groups: broker log has errors: $(grep -E '(^|[ m])ERROR|panicked at' "$BLOG" | head -n 3 | cut -c1-300 | tr '\n' ' ')"
else
  pass "groups: no ERROR or panic in the broker log"
fi
kill -0 "$BROKER_PID" 2>/dev/null && pass "groups: broker still running at end" \
  || fail "groups: broker process died during the suite"
suite_finish
