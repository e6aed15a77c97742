#!/usr/bin/env bash
# kafkajs 2.2.4 (Node.js) suite: one broker; checks driven by kafkajs/test_kafkajs.js and
# kafkajs/test_kafkajs_txn.js (transactions).  The broker runs with
# --group-initial-rebalance-delay-ms 0 (kafkajs has no assign(): every read is a new group).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
suite_init kafkajs
NODE_MODULES="$REPO_ROOT/.cache/node/node_modules"
command -v node >/dev/null || { fail "kafkajs: node not installed"; suite_finish; }
[ -f "$NODE_MODULES/kafkajs/package.json" ] || { fail "kafkajs: not installed (run scripts/install-clients.sh)"; suite_finish; }

BROOK_EXTRA_ARGS=${BROOK_EXTRA_ARGS:---group-initial-rebalance-delay-ms 0}
PORT=$(free_port)
start_broker "$PORT" "$SUITE_TMP/data" "$SUITE_TMP/broker.log" || { fail "kafkajs: broker did not start"; suite_finish; }
log "broker pid $BROKER_PID on 127.0.0.1:$PORT"

NODE_PATH="$NODE_MODULES" KAFKAJS_NO_PARTITIONER_WARNING=1 BOOTSTRAP=127.0.0.1:$PORT \
  run_checks kafkajs 120 node "$COMPAT_DIR/kafkajs/test_kafkajs.js"
NODE_PATH="$NODE_MODULES" KAFKAJS_NO_PARTITIONER_WARNING=1 BOOTSTRAP=127.0.0.1:$PORT \
  run_checks kafkajs-txn 120 node "$COMPAT_DIR/kafkajs/test_kafkajs_txn.js"

kill -0 "$BROKER_PID" 2>/dev/null && pass "kafkajs: broker still running at end" \
  || fail "kafkajs: broker process died during the suite"
suite_finish
