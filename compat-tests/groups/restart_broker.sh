#!/usr/bin/env bash
# kill -9 the groups suite's broker and start it again on the same port and data dir.
# Called by test_groups.py through RESTART_CMD; env from groups/run.sh:
# BROKER_PID_FILE GROUPS_PORT GROUPS_DATA GROUPS_BLOG (and BROOK_EXTRA_ARGS etc.).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
old=$(cat "$BROKER_PID_FILE")
kill9_broker "$old"
echo "=== kill -9 $old at $(date +%T.%N)" >>"$GROUPS_BLOG"
# debugging aid: keep a copy of the data dir exactly as the crash left it
if [ "${GROUPS_CRASH_COPY:-0}" = 1 ]; then cp -a "$GROUPS_DATA" "$GROUPS_DATA.crash-$(date +%s%N)"; fi
start_broker "$GROUPS_PORT" "$GROUPS_DATA" "$GROUPS_BLOG"
echo "$BROKER_PID" >"$BROKER_PID_FILE"
echo "restarted: pid $BROKER_PID"
