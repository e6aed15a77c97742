#!/usr/bin/env bash
# Stop the share suite's broker and start it again on the same port and data dir:
#   restart_broker.sh term [PID...]   SIGTERM (SIGKILL after 5 s)
#   restart_broker.sh kill [PID...]   kill -9
# Each PID (a client process) is SIGKILLed after the broker is gone and before it starts
# again, so that the client cannot act between the crash and the restart.
# Called by test_share.py through RESTART_CMD; env from share/run.sh:
# BROKER_PID_FILE SHARE_PORT SHARE_DATA SHARE_BLOG (and the BROOK_* settings, BROOK_EXTRA_ARGS).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
how=${1:-term}
shift || true
old=$(cat "$BROKER_PID_FILE")
case "$how" in
  term) stop_broker "$old" ;;
  kill) kill9_broker "$old" ;;
  *) echo "usage: $0 term|kill [PID...]" >&2; exit 2 ;;
esac
echo "=== $how $old at $(date +%T.%N)" >>"$SHARE_BLOG"
# A client is not our child: once dead it stays a zombie until its parent reaps it.
dead() { [ ! -e "/proc/$1" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = Z ]; }
for pid in "$@"; do
  kill -KILL "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 5))
  while ! dead "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  dead "$pid" || { echo "client pid $pid did not die" >&2; exit 1; }
done
start_broker "$SHARE_PORT" "$SHARE_DATA" "$SHARE_BLOG"
echo "$BROKER_PID" >"$BROKER_PID_FILE"
echo "restarted: pid $BROKER_PID"
