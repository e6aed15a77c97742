#!/usr/bin/env bash
# KIP-932 share-group suite ("queues for Kafka"): confluent-kafka 2.16's ShareConsumer
# (librdkafka 2.16), each consumer that is killed or run beside others its own process
# (share_member.py, driven by test_share.py); the AdminClient sets the groups' configs
# (IncrementalAlterConfigs on GROUP resources), deletes groups and lists consumer groups;
# kafka-python 3.0 lists share groups (ListGroups v5 type filter "share") and sends
# ShareGroupDescribe and DescribeShareGroupOffsets (shareadmin.py), which confluent-kafka lacks.
#
# Scenarios (test_share.py has the details):
#   split   three consumers of one share group split a 6-partition topic, every record exactly
#           once; a second share group and a classic consumer group each read it all too;
#           admin: list, describe, offsets/lag, delete (refused while members are in)
#   ackrel  explicit acknowledgement: RELEASE redelivers (delivery count 2), REJECT archives
#   kill    a member SIGKILLed while holding records: the survivor gets them all
#   lock    a live member that holds records unacknowledged: they go to the other member
#           when the acquisition lock expires, not before
#   limit   a poison record RELEASEd every time is archived after share.delivery.count.limit
#   dlq     KIP-1191 dead-letter queue: the poison and a REJECTed record land in dlq.<topic>
#   crash   acknowledgements survive a broker kill -9 (run last, alone)
# `kill` and `lock` run in a second process beside the others (they mostly wait for timers).
#
#   SHARE_ONLY="split ackrel kill lock limit dlq crash"   a subset (default: all)
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
suite_init share

# ---------------------------------------------------------------- broker settings
# Everything the checks assume of the broker, in one place.  Brook reads each setting from
# BROOK_<NAME> (dots to underscores, upper case); Kafka's broker names are in the comments.
# group.share.session.timeout.ms (min): a SIGKILLed member leaves the group after 6 s
export BROOK_GROUP_SHARE_SESSION_TIMEOUT_MS=${BROOK_GROUP_SHARE_SESSION_TIMEOUT_MS:-6000}
export BROOK_GROUP_SHARE_MIN_SESSION_TIMEOUT_MS=${BROOK_GROUP_SHARE_MIN_SESSION_TIMEOUT_MS:-3000}
# group.share.heartbeat.interval.ms (min): a new member gets partitions within ~2 heartbeats
export BROOK_GROUP_SHARE_HEARTBEAT_INTERVAL_MS=${BROOK_GROUP_SHARE_HEARTBEAT_INTERVAL_MS:-1000}
export BROOK_GROUP_SHARE_MIN_HEARTBEAT_INTERVAL_MS=${BROOK_GROUP_SHARE_MIN_HEARTBEAT_INTERVAL_MS:-500}
# group.share.record.lock.duration.ms: the default lock (long enough never to expire while a
# consumer works); the min lets the kill/lock groups set share.record.lock.duration.ms=SHARE_LOCK_MS
export BROOK_GROUP_SHARE_RECORD_LOCK_DURATION_MS=${BROOK_GROUP_SHARE_RECORD_LOCK_DURATION_MS:-15000}
export BROOK_GROUP_SHARE_MIN_RECORD_LOCK_DURATION_MS=${BROOK_GROUP_SHARE_MIN_RECORD_LOCK_DURATION_MS:-1000}
# group.share.delivery.count.limit: the broker default (the dlq check relies on it); the limit
# check sets the group config share.delivery.count.limit=3 below it
export BROOK_GROUP_SHARE_DELIVERY_COUNT_LIMIT=${BROOK_GROUP_SHARE_DELIVERY_COUNT_LIMIT:-4}
# group.initial.rebalance.delay.ms: the classic group of the split check joins at once
export BROOK_GROUP_INITIAL_REBALANCE_DELAY_MS=${BROOK_GROUP_INITIAL_REBALANCE_DELAY_MS:-0}
# the share.record.lock.duration.ms group config of the kill and lock checks
SHARE_LOCK_MS=${SHARE_LOCK_MS:-5000}

export SHARE_SESSION_MS=$BROOK_GROUP_SHARE_SESSION_TIMEOUT_MS SHARE_LOCK_MS \
  SHARE_DELIVERY_LIMIT=$BROOK_GROUP_SHARE_DELIVERY_COUNT_LIMIT \
  SHARE_HEARTBEAT_MS=$BROOK_GROUP_SHARE_HEARTBEAT_INTERVAL_MS

ONLY=" ${SHARE_ONLY:-split ackrel kill lock limit dlq crash} "
MAIN_SCEN=()
for s in split ackrel limit dlq; do [[ "$ONLY" == *" $s "* ]] && MAIN_SCEN+=("$s"); done
SIDE_SCEN=()
for s in kill lock; do [[ "$ONLY" == *" $s "* ]] && SIDE_SCEN+=("$s"); done

PORT=$(free_port)
DATA=$SUITE_TMP/data
BLOG=$SUITE_TMP/broker.log
start_broker "$PORT" "$DATA" "$BLOG" || { fail "share: broker did not start"; suite_finish; }
export BOOTSTRAP=127.0.0.1:$PORT
log "broker pid $BROKER_PID on $BOOTSTRAP ($(env | grep -E '^BROOK_GROUP_' | sort | tr '\n' ' '))"

# test_share.py restarts the broker through this command; the live pid is kept in a file so
# that the cleanup below kills whichever broker is running.
export BROKER_PID_FILE=$SUITE_TMP/broker.pid
echo "$BROKER_PID" >"$BROKER_PID_FILE"
export SHARE_PORT=$PORT SHARE_DATA=$DATA SHARE_BLOG=$BLOG
export RESTART_CMD="bash '$COMPAT_DIR/share/restart_broker.sh'"
trap 'kill -KILL "$(cat "$BROKER_PID_FILE" 2>/dev/null)" 2>/dev/null || true; suite_cleanup' EXIT
mkdir -p "$SUITE_TMP/members"

SIDE_PID=
SIDE_OUT=$SUITE_TMP/share-side.out
if [ ${#SIDE_SCEN[@]} -gt 0 ]; then
  log "side scenarios ${SIDE_SCEN[*]} (in the background)"
  LOGDIR=$SUITE_TMP/members timeout -k 5 200 "$PY" "$COMPAT_DIR/share/test_share.py" "${SIDE_SCEN[@]}" \
    >"$SIDE_OUT" 2>&1 &
  SIDE_PID=$!
fi

if [ ${#MAIN_SCEN[@]} -gt 0 ]; then
  LOGDIR=$SUITE_TMP/members run_checks share-main 200 "$PY" "$COMPAT_DIR/share/test_share.py" "${MAIN_SCEN[@]}"
fi

if [ -n "$SIDE_PID" ]; then
  set +e
  wait "$SIDE_PID"
  rc=$?
  set -e
  cat "$SIDE_OUT"
  count_results "$SIDE_OUT"
  if [ "$rc" != 0 ] && ! grep -q '^FAIL: ' "$SIDE_OUT"; then
    fail "share: ${SIDE_SCEN[*]}: exited with status $rc$( [ "$rc" = 124 ] && echo ' (timed out after 200s)')"
  fi
fi

if [[ "$ONLY" == *" crash "* ]]; then
  LOGDIR=$SUITE_TMP/members run_checks share-crash 120 "$PY" "$COMPAT_DIR/share/test_share.py" crash
fi

BROKER_PID=$(cat "$BROKER_PID_FILE")
_BROKER_PIDS+=("$BROKER_PID")
# tracing colours the level: match "ERROR" after an optional escape sequence
if grep -qE '(^|[ m])ERROR|panicked at' "$BLOG"; then
  fail "share: broker log has errors: $(grep -E '(^|[ m])ERROR|panicked at' "$BLOG" | head -n 3 | cut -c1-300 | tr '\n' ' ')"
else
  pass "share: no ERROR or panic in the broker log"
fi
kill -0 "$BROKER_PID" 2>/dev/null && pass "share: broker still running at end" \
  || fail "share: broker process died during the suite"
suite_finish
