# Transaction phase of the crash suite (sourced by crash/run.sh after lib.sh).
#
# Two transactional producers (confluent-kafka, txn_producer.py) run transactions on one
# 3-partition topic (every 3rd aborted, 5..15 records each) while the broker is kill -9'd
# and restarted on the same data dir and port CRASH_TXN_CYCLES times (default 6).  After
# each restart: wait (bounded) until both producers committed again, pause them between
# transactions, and run txn_verify.py (committed = fully visible to read_committed, aborted
# never, no transaction partly visible, LSO back at the high watermark).  Before the first kill a
# third producer opens a transaction and is kill -9'd (txn_abandon.py): after the broker restart the
# coordinator must time it out and abort it.  Finally stop the
# producers, verify with --final (read_uncommitted too), and again after a clean restart.
# Bounded: ~CYCLES * (1-3 s of traffic + <= 30 s commit wait + <= 60 s pause + <= 60 s verify).

txn_phase() {
  local cycles=${CRASH_TXN_CYCLES:-6}
  local port data blog restarts stop pause topic i j deadline pid ok
  port=$(free_port)
  data=$SUITE_TMP/txn-data
  blog=$SUITE_TMP/broker-txn.log
  restarts=$SUITE_TMP/txn-restarts.txt
  stop=$SUITE_TMP/txn-stop
  pause=$SUITE_TMP/txn-pause
  : >"$restarts"
  export BOOTSTRAP=127.0.0.1:$port
  log "transaction phase: $cycles broker kill -9 cycles with 2 transactional producers"
  start_broker "$port" "$data" "$blog" || { fail "crash-txn: broker did not start"; return 0; }
  topic=crash-txn-$$
  "$PY" -c "import sys; from compat import ck_create_topic; ck_create_topic(sys.argv[1], 3)" "$topic" ||
    { fail "crash-txn: could not create $topic"; return 0; }

  local names=(A B) pids=() logs=()
  for j in "${names[@]}"; do
    logs+=("$SUITE_TMP/txn-$j.log")
    "$PY" "$COMPAT_DIR/crash/txn_producer.py" "$BOOTSTRAP" "$topic" "$j" "$SUITE_TMP/txn-$j.log" "$stop" \
      "$pause" "$SUITE_TMP/txn-paused-$j" $((cycles * 60 + 60)) >"$SUITE_TMP/txn-producer-$j.out" 2>&1 &
    pids+=($!)
  done

  # true when every producer logged COMMITTED with a time after $1 (ms)
  committed_since() {
    local since=$1 f
    for f in "${logs[@]}"; do
      awk -v s="$since" '$1 == "COMMITTED" && $3 > s { found = 1 } END { exit !found }' "$f" 2>/dev/null || return 1
    done
    return 0
  }

  sleep 2
  # An abandoned transaction: its producer is kill -9'd with the transaction open (timeout 5 s), and
  # the broker is kill -9'd before the timeout: after the restart the coordinator must still abort
  # it (with the default 10 s scan interval), or the LSO stays behind it for ever.
  "$PY" "$COMPAT_DIR/crash/txn_abandon.py" "$BOOTSTRAP" "$topic" 3 >"$SUITE_TMP/txn-abandon.out" 2>&1 &
  local zpid=$!
  deadline=$((SECONDS + 30))
  until grep -q '^OPEN' "$SUITE_TMP/txn-abandon.out" || [ $SECONDS -ge $deadline ] || ! kill -0 "$zpid" 2>/dev/null; do sleep 0.1; done
  kill -KILL "$zpid" 2>/dev/null || true
  wait "$zpid" 2>/dev/null || true
  local abandoned=--abandoned
  if grep -q '^OPEN' "$SUITE_TMP/txn-abandon.out"; then
    log "abandoned transaction open (its producer kill -9'd); next: broker kill -9"
  else
    fail "crash-txn: could not open the abandoned transaction: $(tail -n 2 "$SUITE_TMP/txn-abandon.out" | tr '\n' ' ')"
    abandoned=
  fi
  ok=1
  for i in $(seq 1 "$cycles"); do
    sleep "$((1 + RANDOM % 2)).$((RANDOM % 10))"     # 1.0 .. 2.9 s of transactions, then crash
    log "txn cycle $i/$cycles: kill -9 broker pid $BROKER_PID"
    kill9_broker "$BROKER_PID"
    sleep 0.$((RANDOM % 5 + 1))
    if ! start_broker "$port" "$data" "$blog"; then
      fail "crash-txn: broker restart #$i on the same data dir did not come up"
      ok=0
      break
    fi
    local t_restart=$(($(date +%s%N) / 1000000))
    echo "restart $t_restart pid=$BROKER_PID" >>"$restarts"
    deadline=$((SECONDS + 30))
    until committed_since "$t_restart" || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
    # pause the producers between transactions, then check the topic
    touch "$pause"
    deadline=$((SECONDS + 60))
    while [ $SECONDS -lt $deadline ]; do
      local all=1
      for j in "${names[@]}"; do [ -f "$SUITE_TMP/txn-paused-$j" ] || all=0; done
      [ $all = 1 ] && break
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || all=2; done
      [ $all = 2 ] && break
      sleep 0.1
    done
    for j in "${names[@]}"; do
      [ -f "$SUITE_TMP/txn-paused-$j" ] || fail "crash-txn: producer $j did not pause between transactions within 60 s after restart #$i (it is stuck or died)"
    done
    run_checks "txn-verify-$i" 75 "$PY" "$COMPAT_DIR/crash/txn_verify.py" "after-restart-$i" "$topic" 3 "$restarts" "${logs[@]}"
    rm -f "$pause" "$SUITE_TMP"/txn-paused-*
    log "txn cycle $i/$cycles: verified, producers resumed"
  done
  [ "$ok" = 1 ] && pass "crash-txn: broker restarted $cycles times after kill -9 during transactions"

  sleep 1
  touch "$stop"
  deadline=$((SECONDS + 60))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      fail "crash-txn: transactional producer pid $pid did not stop within 60 s"
    fi
    wait "$pid" 2>/dev/null || true
  done
  for j in "${names[@]}"; do
    grep -q '^DONE' "$SUITE_TMP/txn-$j.log" || fail "crash-txn: producer $j did not finish cleanly: $(tail -n 3 "$SUITE_TMP/txn-producer-$j.out" | tr '\n' ' ')"
    log "producer $j: $(grep -c '^COMMITTED' "$SUITE_TMP/txn-$j.log") committed, $(grep -c '^ABORTED' "$SUITE_TMP/txn-$j.log") aborted, $(grep -c '^FAILED' "$SUITE_TMP/txn-$j.log") failed, $(grep -c '^RECREATE' "$SUITE_TMP/txn-$j.log") recreated"
  done
  run_checks txn-verify-final 75 "$PY" "$COMPAT_DIR/crash/txn_verify.py" final "$topic" 3 "$restarts" --final $abandoned "${logs[@]}"
  stop_broker "$BROKER_PID"
  if start_broker "$port" "$data" "$blog"; then
    run_checks txn-verify-clean-restart 75 "$PY" "$COMPAT_DIR/crash/txn_verify.py" after-clean-restart "$topic" 3 \
      /dev/null --final $abandoned "${logs[@]}"
    stop_broker "$BROKER_PID"
  else
    fail "crash-txn: broker did not start after a graceful stop"
  fi
}
