#!/usr/bin/env bash
# Stop the groups848 suite's broker (SIGTERM, SIGKILL after 5 s) and start it again on the
# same port and data dir.  Called by test_groups848.py through RESTART_CMD; env from
# groups848/run.sh: BROKER_PID_FILE G848_PORT G848_DATA G848_BLOG (and BROOK_EXTRA_ARGS etc.).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
old=$(cat "$BROKER_PID_FILE")
stop_broker "$old"
echo "=== stopped $old at $(date +%T.%N)" >>"$G848_BLOG"
start_broker "$G848_PORT" "$G848_DATA" "$G848_BLOG"
echo "$BROKER_PID" >"$BROKER_PID_FILE"
echo "restarted: pid $BROKER_PID"
