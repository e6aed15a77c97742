# Shared shell helpers for the real-client compatibility suites.
# Source it from a suite script:   . "$(dirname "$0")/../lib.sh"
#
# Environment:
#   BROKER       brook (default) | tansu  (tansu = Tansu 0.6.0 peer broker, development aid)
#   BROOK_BIN    broker binary (default target/debug/brook, relative to the repo root)
#   BROOK_LOG_LEVEL  passed to --log-level (default info)
#   BROOK_EXTRA_ARGS extra `brook serve` flags, word-split (default empty), e.g.
#                "--group-initial-rebalance-delay-ms 0"; a suite may set it before start_broker
#   KCAT_LIBRDKAFKA  system (default for brook) | wheel (run kcat against the newer
#                librdkafka shipped in the confluent-kafka wheel; default for tansu,
#                whose ApiVersions answer librdkafka 2.0.2 cannot parse)
#   KEEP_TMP=1   keep the suite's temp dir (broker logs, data) after the run
#
# Every wait here is bounded.

COMPAT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$COMPAT_DIR/.." && pwd)
CACHE_DIR=$REPO_ROOT/.cache
PY=$CACHE_DIR/venv/bin/python
export PYTHONPATH="$COMPAT_DIR/pylib${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1

BROKER=${BROKER:-brook}
BROOK_BIN=${BROOK_BIN:-target/debug/brook}
case "$BROOK_BIN" in /*) ;; *) BROOK_BIN=$REPO_ROOT/$BROOK_BIN ;; esac
TANSU_BIN=${TANSU_BIN:-$CACHE_DIR/tansu/tansu}
BROOK_LOG_LEVEL=${BROOK_LOG_LEVEL:-info}
export BROKER BROOK_BIN

# Partitions a broker gives an auto-created topic (0 = do not assert).
case "$BROKER" in
  brook) export AUTO_CREATE_PARTITIONS=${AUTO_CREATE_PARTITIONS:-1} ;;
  *)     export AUTO_CREATE_PARTITIONS=${AUTO_CREATE_PARTITIONS:-0} ;;
esac

if [ -z "${KCAT_LIBRDKAFKA:-}" ]; then
  if [ "$BROKER" = tansu ]; then KCAT_LIBRDKAFKA=wheel; else KCAT_LIBRDKAFKA=system; fi
fi
export KCAT_LIBRDKAFKA

_BROKER_PIDS=()
SUITE_TMP=
SUITE_NAME=
PASS_COUNT=0
FAIL_COUNT=0

log() { echo "[$(date +%H:%M:%S)] ${SUITE_NAME:+$SUITE_NAME: }$*"; }

pass() { PASS_COUNT=$((PASS_COUNT + 1)); echo "PASS: $*"; }
fail() { FAIL_COUNT=$((FAIL_COUNT + 1)); echo "FAIL: $*"; }

# Count PASS:/FAIL: lines printed by a helper program (python / java) into the totals.
count_results() { # file
  local p f
  p=$(grep -c '^PASS: ' "$1" || true)
  f=$(grep -c '^FAIL: ' "$1" || true)
  PASS_COUNT=$((PASS_COUNT + p))
  FAIL_COUNT=$((FAIL_COUNT + f))
}

# Run a command, tee its output to the terminal and to a file, and count its
# PASS/FAIL lines.  A non-zero exit with no FAIL line counts as one failure.
run_checks() { # name timeout_seconds cmd...
  local name=$1 to=$2; shift 2
  local out="$SUITE_TMP/$name.out" rc
  set +e
  timeout -k 5 "$to" "$@" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  set -e
  count_results "$out"
  if [ "$rc" != 0 ] && ! grep -q '^FAIL: ' "$out"; then
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
      fail "$name: timed out after ${to}s"
    else
      fail "$name: exited with status $rc"
    fi
  fi
  return 0
}

# A free TCP port on 127.0.0.1, picked below the kernel's ephemeral range so a
# client's outgoing connection cannot grab it while a broker is restarting.
free_port() {
  "$PY" - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randint(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
else:
    raise SystemExit("no free port")
EOF
}

# Wait until 127.0.0.1:PORT accepts connections (default 15 s); gives up early
# if the optional PID exits.
wait_port() { # port [timeout_s] [pid]
  local port=$1 to=${2:-15} pid=${3:-}
  local deadline=$((SECONDS + to))
  while [ $SECONDS -lt $deadline ]; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    sleep 0.1
  done
  return 1
}

# Start a broker in the background on 127.0.0.1:PORT with data in DIR.
# Sets BROKER_PID.  Output goes to LOG (appended, so restarts keep history).
start_broker() { # port data_dir log_file
  local port=$1 dir=$2 logf=$3
  mkdir -p "$dir"
  echo "=== start $(date +%T.%N) port=$port dir=$dir" >>"$logf"
  case "$BROKER" in
    brook)
      [ -x "$BROOK_BIN" ] || { echo "broker binary not found: $BROOK_BIN" >&2; return 1; }
      # shellcheck disable=SC2086  # BROOK_EXTRA_ARGS is word-split on purpose
      "$BROOK_BIN" serve --listen "127.0.0.1:$port" --advertised-listener "127.0.0.1:$port" \
        --data-dir "$dir" --log-level "$BROOK_LOG_LEVEL" ${BROOK_EXTRA_ARGS:-} >>"$logf" 2>&1 &
      ;;
    tansu)
      [ -x "$TANSU_BIN" ] || { echo "tansu not installed: run scripts/install-clients.sh --with-tansu" >&2; return 1; }
      "$TANSU_BIN" broker --listener-url "tcp://127.0.0.1:$port" \
        --advertised-listener-url "tcp://127.0.0.1:$port" --storage-engine memory://tansu/ \
        >>"$logf" 2>&1 &
      ;;
    *) echo "unknown BROKER=$BROKER" >&2; return 1 ;;
  esac
  BROKER_PID=$!
  disown "$BROKER_PID" 2>/dev/null || true   # no "Killed" job notices on kill -9
  _BROKER_PIDS+=("$BROKER_PID")
  if ! wait_port "$port" 15 "$BROKER_PID"; then
    echo "broker did not accept connections on port $port within 15s (or exited); log tail:" >&2
    tail -n 30 "$logf" >&2
    return 1
  fi
  if ! kill -0 "$BROKER_PID" 2>/dev/null; then
    echo "broker exited right after start (is port $port taken?); log tail:" >&2
    tail -n 30 "$logf" >&2
    return 1
  fi
  return 0
}

# Wait (bounded) for a pid to exit.
_wait_gone() { # pid timeout_s
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  ! kill -0 "$pid" 2>/dev/null
}

# Graceful stop: SIGTERM, then SIGKILL after 5 s.
stop_broker() { # pid
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  if ! _wait_gone "$pid" 5; then kill -KILL "$pid" 2>/dev/null || true; _wait_gone "$pid" 5 || true; fi
}

# Crash: SIGKILL and wait for the process to be gone.
kill9_broker() { # pid
  local pid=$1
  kill -KILL "$pid" 2>/dev/null || true
  _wait_gone "$pid" 5 || true
}

# Create the suite's temp dir and install the cleanup trap.
suite_init() { # name
  SUITE_NAME=$1
  SUITE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/brook-compat-$1.XXXXXX")
  trap suite_cleanup EXIT
  trap 'exit 130' INT TERM
  if [ ! -x "$PY" ]; then
    echo "python venv missing: run scripts/install-clients.sh" >&2
    exit 2
  fi
  log "broker=$BROKER tmp=$SUITE_TMP"
}

suite_cleanup() {
  local rc=$?
  local pid
  for pid in "${_BROKER_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in "${_BROKER_PIDS[@]}"; do
    _wait_gone "$pid" 5 || true
  done
  # Anything else this suite started in the background (producers etc.).
  local j
  for j in $(jobs -p); do kill -KILL "$j" 2>/dev/null || true; done
  for j in $(jobs -p); do wait "$j" 2>/dev/null || true; done
  if [ -n "$SUITE_TMP" ] && [ -d "$SUITE_TMP" ]; then
    if [ "$FAIL_COUNT" -gt 0 ] || [ "$rc" != 0 ]; then
      local f
      for f in "$SUITE_TMP"/*.log; do
        [ -f "$f" ] || continue
        echo "----- tail of $(basename "$f") -----"
        tail -n 40 "$f"
      done
    fi
    if [ "${KEEP_TMP:-0}" = 1 ]; then
      echo "kept $SUITE_TMP"
    else
      rm -rf "$SUITE_TMP"
    fi
  fi
}

# Print the suite's totals and exit non-zero if anything failed.
suite_finish() {
  echo "$SUITE_NAME: $PASS_COUNT passed, $FAIL_COUNT failed"
  if [ "$FAIL_COUNT" -gt 0 ] || [ "$PASS_COUNT" -eq 0 ]; then
    exit 1
  fi
  exit 0
}

# Point kcat at the librdkafka inside the confluent-kafka wheel when
# KCAT_LIBRDKAFKA=wheel.  Exports KCAT_LD_LIBRARY_PATH (empty = system librdkafka);
# the python helpers put it into kcat's environment.
setup_kcat() {
  KCAT_LD_LIBRARY_PATH=
  if [ "$KCAT_LIBRDKAFKA" = wheel ]; then
    local libs d
    libs=$(ls -d "$CACHE_DIR"/venv/lib/python3*/site-packages/confluent_kafka.libs 2>/dev/null | head -n1)
    d=$CACHE_DIR/rdkafka-wheel
    mkdir -p "$d"
    ln -sf "$(ls "$libs"/librdkafka-*.so.1 | head -n1)" "$d/librdkafka.so.1"
    KCAT_LD_LIBRARY_PATH=$d
  fi
  export KCAT_LD_LIBRARY_PATH
}

# Compile compat-tests/java/src (when any source is newer than the classes).
# Sets JAVA_CP for running the programs.
JAVA_CLASSES=$CACHE_DIR/java-classes
JAVA_CP="$JAVA_CLASSES:$CACHE_DIR/java/*"
# Small heaps and fast start-up: these JVMs are short-lived test drivers.
JAVA_OPTS_COMPAT=${JAVA_OPTS_COMPAT:--Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto}
java_compile() {
  local src=$COMPAT_DIR/java/src stamp=$JAVA_CLASSES/.stamp
  if [ ! -s "$CACHE_DIR/java/kafka-clients.jar" ]; then
    echo "java client jars missing: run scripts/install-clients.sh" >&2
    return 1
  fi
  if [ -f "$stamp" ] && [ -z "$(find "$src" -name '*.java' -newer "$stamp" | head -n1)" ]; then
    return 0
  fi
  rm -rf "$JAVA_CLASSES"
  mkdir -p "$JAVA_CLASSES"
  # shellcheck disable=SC2046
  javac -nowarn -encoding UTF-8 -d "$JAVA_CLASSES" -cp "$CACHE_DIR/java/*" $(find "$src" -name '*.java') &&
    touch "$stamp"
}
