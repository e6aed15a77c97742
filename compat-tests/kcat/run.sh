#!/usr/bin/env bash
# kcat 1.7.1 suite: one broker; checks driven by kcat/test_kcat.py.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
suite_init kcat
command -v kcat >/dev/null || { fail "kcat: kcat not installed (run scripts/install-clients.sh)"; suite_finish; }
setup_kcat

PORT=$(free_port)
start_broker "$PORT" "$SUITE_TMP/data" "$SUITE_TMP/broker.log" || { fail "kcat: broker did not start"; suite_finish; }
export BOOTSTRAP=127.0.0.1:$PORT SUITE_TMP
log "broker pid $BROKER_PID on $BOOTSTRAP (kcat librdkafka: $KCAT_LIBRDKAFKA)"

run_checks kcat 300 "$PY" "$COMPAT_DIR/kcat/test_kcat.py"

kill -0 "$BROKER_PID" 2>/dev/null && pass "kcat: broker still running at end" \
  || fail "kcat: broker process died during the suite"
suite_finish
