#!/usr/bin/env bash
# Stop the groups848 suite's broker and start it again on the same port and data dir:
#   restart_broker.sh term   SIGTERM (SIGKILL after 5 s)
#   restart_broker.sh kill   kill -9
# Called by test_groups848.py through RESTART_CMD; env from groups848/run.sh:
# BROKER_PID_FILE G848_PORT G848_DATA G848_BLOG (and BROOK_EXTRA_ARGS etc.).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
old=$(cat "$BROKER_PID_FILE")
case "${1:-term}" in
  term) stop_broker "$old" ;;
  kill) kill9_broker "$old" ;;
  *) echo "usage: $0 term|kill" >&2; exit 2 ;;
esac
echo "=== ${1:-term} $old at $(date +%T.%N)" >>"$G848_BLOG"
start_broker "$G848_PORT" "$G848_DATA" "$G848_BLOG"
echo "$BROKER_PID" >"$BROKER_PID_FILE"
echo "restarted: pid $BROKER_PID"
