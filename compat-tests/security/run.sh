#!/usr/bin/env bash
# Security suite: TLS, mutual TLS, SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and ACLs, with
# kcat 1.7.1 (librdkafka 2.0.2), confluent-kafka 2.16 (test_security.py) and the Java client
# 3.9.1 (java/SecurityTest.java). Certificates are made by gen_certs.sh (openssl) per run.
#
# Two brokers, configured with Kafka's setting names (as brook flags):
#   open    SSL, SASL_PLAINTEXT and SASL_SSL listeners, no authorizer; PLAIN users alice and
#           admin (sasl_plain_users); SCRAM users created by the clients
#           (AlterUserScramCredentials)
#   secure  SASL_PLAINTEXT and SSL listeners, ssl.client.auth=required (mutual TLS) with
#           ssl.principal.mapping.rules=RULE:^CN=(.*?),.*$/$1/,DEFAULT, authorizer.class.name
#           set, super.users=User:admin, allow.everyone.if.no.acl.found=false
#
# Phases (each client's resources have their own prefix: j- Java, c- confluent, k- kcat):
#   open     Java, confluent, kcat: SCRAM users created (Java's alterUserScramCredentials and
#            confluent's alter_user_scram_credentials); produce/consume over SSL and over both
#            SASL listeners with every mechanism; wrong password / unknown user refused;
#            an untrusted server certificate refused
#   secure   mutual TLS: a CA-signed client certificate works, none or a rogue CA's is refused,
#            the subject becomes the principal (RULE -> User:alice, DEFAULT -> User:CN=dave);
#            authorization as Kafka answers it: consume without READ (TOPIC_AUTHORIZATION_FAILED)
#            then with READ on topic + group; topics without DESCRIBE hidden from Metadata;
#            produce without WRITE; a group without READ (GROUP_AUTHORIZATION_FAILED); a
#            transactional id without WRITE (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); each then granted
#   restart  the secure broker is kill -9ed and restarted on its data dir: SCRAM users and ACLs
#            are still there and still act
#
#   SEC_ONLY="open secure restart"   a subset of the phases (restart needs secure)
#   SEC_JAVA_CLASSES                 where javac puts the classes (default .cache/security-java-classes)
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
suite_init security

if [ "$BROKER" != brook ]; then
  log "skipped: the security suite configures Brook's listeners (BROKER=$BROKER)"
  exit 0
fi

ONLY=" ${SEC_ONLY:-open secure restart} "
HERE=$COMPAT_DIR/security
export COMPAT_JAVA_LOG=${COMPAT_JAVA_LOG:-ERROR}   # the refused clients' retries are noisy at WARN
# kcat runs on the system librdkafka (KCAT_LIBRDKAFKA, default 2.0.2) and, for some SCRAM
# checks, on the confluent-kafka wheel's (2.16). librdkafka before 2.6.1 repeats the client
# nonce in the SCRAM client-final-message (librdkafka#4895); Brook accepts a final nonce that
# ends with the combined one, as Kafka 3.8.1+ does, so both must work.
KCAT_LIBRDKAFKA_SAVED=$KCAT_LIBRDKAFKA
KCAT_LIBRDKAFKA=wheel setup_kcat
KCAT_WHEEL_LIB=$KCAT_LD_LIBRARY_PATH
KCAT_LIBRDKAFKA=$KCAT_LIBRDKAFKA_SAVED setup_kcat

# ---------------------------------------------------------------- java
SEC_JAVA_CLASSES=${SEC_JAVA_CLASSES:-$CACHE_DIR/security-java-classes}
SEC_CP="$SEC_JAVA_CLASSES:$CACHE_DIR/java/*"
sec_java_compile() {
  local stamp=$SEC_JAVA_CLASSES/.stamp
  local srcs=("$HERE"/java/*.java "$COMPAT_DIR"/java/src/org/slf4j/impl/StaticLoggerBinder.java)
  [ -s "$CACHE_DIR/java/kafka-clients.jar" ] || { echo "java client jars missing: run scripts/install-clients.sh" >&2; return 1; }
  if [ -f "$stamp" ] && [ -z "$(find "${srcs[@]}" -newer "$stamp" | head -n1)" ]; then return 0; fi
  rm -rf "$SEC_JAVA_CLASSES"
  mkdir -p "$SEC_JAVA_CLASSES"
  javac -nowarn -encoding UTF-8 -d "$SEC_JAVA_CLASSES" -cp "$CACHE_DIR/java/*" "${srcs[@]}" && touch "$stamp"
}
JAVA_OK=1
sec_java_compile || { fail "security: javac failed; Java checks skipped"; JAVA_OK=0; }

# ---------------------------------------------------------------- certificates
CERTS=$SUITE_TMP/certs
if ! bash "$HERE/gen_certs.sh" "$CERTS"; then
  fail "security: gen_certs.sh (openssl) failed: $(tail -n 3 "$CERTS/openssl.log" 2>/dev/null | tr '\n' ' ')"
  suite_finish
fi
export CERTS

# ---------------------------------------------------------------- brokers
# Start a broker whose listeners are given as flags; waits (bounded) until every port in PORTS
# accepts connections.  Sets BROKER_PID.
sec_start() { # data_dir log_file "PORT..." brook-serve-flags...
  local dir=$1 logf=$2 ports=$3 p
  shift 3
  mkdir -p "$dir"
  echo "=== start $(date +%T.%N) ports=$ports dir=$dir" >>"$logf"
  # shellcheck disable=SC2086  # BROOK_EXTRA_ARGS is word-split on purpose
  "$BROOK_BIN" serve --data-dir "$dir" --log-level "$BROOK_LOG_LEVEL" --metrics-listen '' "$@" \
    ${BROOK_EXTRA_ARGS:-} >>"$logf" 2>&1 &
  BROKER_PID=$!
  disown "$BROKER_PID" 2>/dev/null || true
  _BROKER_PIDS+=("$BROKER_PID")
  for p in $ports; do
    if ! wait_port "$p" 15 "$BROKER_PID"; then
      echo "broker did not accept connections on port $p within 15s (or exited); log tail:" >&2
      tail -n 30 "$logf" >&2
      return 1
    fi
  done
}

O_SSL_PORT=$(free_port); O_SASL_PORT=$(free_port); O_SASL_SSL_PORT=$(free_port)
S_SASL_PORT=$(free_port); S_SSL_PORT=$(free_port)
export O_SSL=127.0.0.1:$O_SSL_PORT O_SASL=127.0.0.1:$O_SASL_PORT O_SASL_SSL=127.0.0.1:$O_SASL_SSL_PORT
export S_SASL=127.0.0.1:$S_SASL_PORT S_SSL=127.0.0.1:$S_SSL_PORT

O_LISTENERS="SSL://$O_SSL,SASL_PLAINTEXT://$O_SASL,SASL_SSL://$O_SASL_SSL"
O_ARGS=(--listeners "$O_LISTENERS" --advertised-listener "$O_LISTENERS"
  --ssl-keystore-type PEM --ssl-keystore-location "$CERTS/server.keystore.pem"
  --sasl-enabled-mechanisms PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
  --sasl-plain-users 'alice:alice-pw,admin:admin-pw')
S_LISTENERS="SASL_PLAINTEXT://$S_SASL,SSL://$S_SSL"
S_ARGS=(--listeners "$S_LISTENERS" --advertised-listener "$S_LISTENERS"
  --ssl-keystore-type PEM --ssl-keystore-location "$CERTS/server.keystore.pem"
  --ssl-truststore-location "$CERTS/ca.pem" --ssl-client-auth required
  --ssl-principal-mapping-rules 'RULE:^CN=(.*?),.*$/$1/,DEFAULT'
  --sasl-enabled-mechanisms PLAIN,SCRAM-SHA-256,SCRAM-SHA-512 --sasl-plain-users 'admin:admin-pw'
  --authorizer-class-name org.apache.kafka.metadata.authorizer.StandardAuthorizer
  --super-users 'User:admin' --allow-everyone-if-no-acl-found false
  --group-initial-rebalance-delay-ms 0)

O_LOG=$SUITE_TMP/broker-open.log
S_LOG=$SUITE_TMP/broker-secure.log
S_DATA=$SUITE_TMP/data-secure
sec_start "$SUITE_TMP/data-open" "$O_LOG" "$O_SSL_PORT $O_SASL_PORT $O_SASL_SSL_PORT" "${O_ARGS[@]}" \
  || { fail "security: the open broker did not start"; suite_finish; }
O_PID=$BROKER_PID
sec_start "$S_DATA" "$S_LOG" "$S_SASL_PORT $S_SSL_PORT" "${S_ARGS[@]}" \
  || { fail "security: the secure broker did not start"; suite_finish; }
S_PID=$BROKER_PID
log "open broker pid $O_PID ($O_LISTENERS); secure broker pid $S_PID ($S_LISTENERS)"

# ---------------------------------------------------------------- kcat helpers
CA=$CERTS/ca.pem
# KC_LIB: the librdkafka directory for this call (default: KCAT_LIBRDKAFKA's)
kc() { LD_LIBRARY_PATH=${KC_LIB-${KCAT_LD_LIBRARY_PATH:-}} timeout -k 2 20 kcat -X socket.timeout.ms=10000 "$@"; }
K_SSL=(-X security.protocol=SSL -X ssl.ca.location="$CA")
k_mtls() { echo "-X security.protocol=SSL -X ssl.ca.location=$CA -X ssl.certificate.location=$CERTS/$1.crt -X ssl.key.location=$CERTS/$1.key"; }
k_sasl() { # tls mechanism user password
  local p=SASL_PLAINTEXT ca=
  [ "$1" = 1 ] && { p=SASL_SSL; ca="-X ssl.ca.location=$CA"; }
  echo "-X security.protocol=$p $ca -X sasl.mechanism=$2 -X sasl.username=$3 -X sasl.password=$4"
}

# Produce 10 lines to TOPIC partition 0 and read them back, all with the given client flags.
kcat_round_trip() { # name bootstrap topic kcat-flags...
  local name=$1 b=$2 topic=$3 out err
  shift 3
  err=$SUITE_TMP/kcat-err.txt
  if ! seq -f "$topic-%g" 1 10 | kc -b "$b" "$@" -P -t "$topic" -p 0 2>"$err"; then
    fail "kcat: $name: produce failed: $(head -c 400 "$err" | tr '\n' ' ')"; return
  fi
  out=$(kc -b "$b" "$@" -C -t "$topic" -p 0 -o beginning -e -q -f '%s\n' 2>"$err") || true
  if [ "$out" = "$(seq -f "$topic-%g" 1 10)" ]; then
    pass "kcat: $name (10 records)"
  else
    fail "kcat: $name: read back $(printf '%s' "$out" | grep -c . || true) of 10 records: $(head -c 400 "$err" | tr '\n' ' ')"
  fi
}

# kcat -L must fail (no metadata) and say why, matching the extended regex WHY.
kcat_refused() { # name bootstrap why kcat-flags...
  local name=$1 b=$2 why=$3 out rc
  shift 3
  set +e
  out=$(kc -b "$b" "$@" -L -m 3 2>&1)
  rc=$?
  set -e
  if [ "$rc" != 0 ] && [[ "$out" != *"Metadata for"* ]] && grep -qiE "$why" <<<"$out"; then
    pass "kcat: $name ($(grep -iE "$why" <<<"$out" | head -n1 | cut -c1-200))"
  else
    fail "kcat: $name: expected a failure matching /$why/, got exit $rc: $(head -c 500 <<<"$out" | tr '\n' ' ')"
  fi
}

# kcat -L as a client; the topic listing must contain every SHOWN and none of HIDDEN.
kcat_lists() { # name bootstrap "SHOWN..." "HIDDEN..." kcat-flags...
  local name=$1 b=$2 shown=$3 hidden=$4 out t bad=
  shift 4
  out=$(kc -b "$b" "$@" -L -m 8 2>&1) || { fail "kcat: $name: kcat -L failed: $(head -c 400 <<<"$out" | tr '\n' ' ')"; return; }
  for t in $shown; do grep -q "topic \"$t\"" <<<"$out" || bad="$bad $t not listed;"; done
  for t in $hidden; do grep -q "topic \"$t\"" <<<"$out" && bad="$bad $t listed;"; done
  if [ -z "$bad" ]; then pass "kcat: $name"; else fail "kcat: $name:$bad listing: $(grep -o 'topic "[^"]*"' <<<"$out" | tr '\n' ' ')"; fi
}

AUTH_WHY='Authentication failed|SASL authentication error'
TLS_WHY='SSL|certificate|handshake|Disconnected|transport failure'

# ---------------------------------------------------------------- open broker
if [[ "$ONLY" == *" open "* ]]; then
  log "open broker: TLS and SASL"
  [ "$JAVA_OK" = 1 ] && run_checks java-open 90 java $JAVA_OPTS_COMPAT -cp "$SEC_CP" SecurityTest open
  run_checks confluent-open 90 "$PY" "$HERE/test_security.py" open

  # shellcheck disable=SC2046  # the flag helpers print words on purpose
  {
    kcat_round_trip "TLS (SSL listener) produce + consume" "$O_SSL" k-tls "${K_SSL[@]}"
    kcat_round_trip "SASL_SSL PLAIN produce + consume" "$O_SASL_SSL" k-sasl-ssl-plain $(k_sasl 1 PLAIN alice alice-pw)
    kcat_round_trip "SASL_PLAINTEXT PLAIN produce + consume" "$O_SASL" k-sasl-plaintext-plain $(k_sasl 0 PLAIN alice alice-pw)
    KC_LIB=$KCAT_WHEEL_LIB kcat_round_trip "SASL_PLAINTEXT SCRAM-SHA-512 (the Java-created user; wheel librdkafka) produce + consume" \
      "$O_SASL" k-sasl-plaintext-scram512 $(k_sasl 0 SCRAM-SHA-512 jscram j512-pw)
    KC_LIB=$KCAT_WHEEL_LIB kcat_round_trip "SASL_SSL SCRAM-SHA-256 (the confluent-created user; wheel librdkafka) produce + consume" \
      "$O_SASL_SSL" k-sasl-ssl-scram256 $(k_sasl 1 SCRAM-SHA-256 cscram c256-pw)
    KC_LIB=$KCAT_WHEEL_LIB kcat_refused "SASL_SSL SCRAM-SHA-256 with a wrong password is refused" "$O_SASL_SSL" "$AUTH_WHY" \
      $(k_sasl 1 SCRAM-SHA-256 cscram wrong)
    kcat_round_trip "SASL_PLAINTEXT SCRAM-SHA-256 (system librdkafka, nonce sent twice) produce + consume" \
      "$O_SASL" k-sasl-plaintext-scram256-old $(k_sasl 0 SCRAM-SHA-256 cscram c256-pw)
    kcat_round_trip "SASL_SSL SCRAM-SHA-512 (system librdkafka, nonce sent twice) produce + consume" \
      "$O_SASL_SSL" k-sasl-ssl-scram512-old $(k_sasl 1 SCRAM-SHA-512 jscram j512-pw)
    kcat_refused "SASL_PLAINTEXT SCRAM-SHA-256 with a wrong password is refused (system librdkafka)" "$O_SASL" "$AUTH_WHY" \
      $(k_sasl 0 SCRAM-SHA-256 cscram wrong)
    kcat_refused "SASL_PLAINTEXT PLAIN with a wrong password is refused" "$O_SASL" "$AUTH_WHY" $(k_sasl 0 PLAIN alice wrong)
    kcat_refused "SSL with a CA that did not sign the broker's certificate is refused" "$O_SSL" 'certificate verify failed|SSL handshake failed' \
      -X security.protocol=SSL -X ssl.ca.location="$CERTS/rogue-ca.pem"
    kcat_refused "a plaintext client on the SSL listener gets nothing" "$O_SSL" 'Disconnected|transport failure|timed out|Failed to acquire metadata'
  }
fi

# ---------------------------------------------------------------- secure broker
if [[ "$ONLY" == *" secure "* ]]; then
  log "secure broker: mutual TLS and ACLs"
  [ "$JAVA_OK" = 1 ] && run_checks java-secure 120 java $JAVA_OPTS_COMPAT -cp "$SEC_CP" SecurityTest secure
  run_checks confluent-secure 120 "$PY" "$HERE/test_security.py" secure

  # shellcheck disable=SC2046
  {
    kcat_round_trip "mTLS: a client certificate signed by the CA produces + consumes (CN=admin -> super user)" "$S_SSL" k-mtls $(k_mtls admin)
    seq 1 3 | kc -b "$S_SSL" $(k_mtls admin) -P -t k-visible -p 0 2>/dev/null || true
    seq 1 3 | kc -b "$S_SSL" $(k_mtls admin) -P -t k-hidden -p 0 2>/dev/null || true
    kcat_refused "mTLS: a client without a certificate is refused" "$S_SSL" "$TLS_WHY" "${K_SSL[@]}"
    kcat_refused "mTLS: a certificate signed by another CA is refused" "$S_SSL" "$TLS_WHY" $(k_mtls eve)
    "$PY" "$HERE/test_security.py" grant User:alice TOPIC k-visible DESCRIBE >"$SUITE_TMP/grant.out" 2>&1 \
      || fail "kcat: granting DESCRIBE on k-visible to User:alice failed: $(tail -n 3 "$SUITE_TMP/grant.out" | tr '\n' ' ')"
    kcat_lists "mTLS as User:alice (RULE): Metadata lists the topic it may DESCRIBE, not the one it may not" "$S_SSL" \
      k-visible k-hidden $(k_mtls alice)
    out=$(kc -b "$S_SSL" $(k_mtls alice) -C -t k-hidden -p 0 -o beginning -e -q -f '%s\n' 2>&1) || true
    if grep -qi 'authorization failed' <<<"$out" && ! grep -qx '1' <<<"$out"; then
      pass "kcat: mTLS as User:alice: consuming a topic without READ -> Topic authorization failed"
    else
      fail "kcat: mTLS as User:alice: consuming a topic without READ: expected 'Topic authorization failed', got: $(head -c 300 <<<"$out" | tr '\n' ' ')"
    fi
  }
fi

# ---------------------------------------------------------------- restart
if [[ "$ONLY" == *" restart "* ]] && [[ "$ONLY" == *" secure "* ]]; then
  log "secure broker: kill -9 and restart on the same data dir"
  kill9_broker "$S_PID"
  echo "=== kill -9 $S_PID at $(date +%T.%N)" >>"$S_LOG"
  if sec_start "$S_DATA" "$S_LOG" "$S_SASL_PORT $S_SSL_PORT" "${S_ARGS[@]}"; then
    S_PID=$BROKER_PID
    run_checks confluent-restart 90 "$PY" "$HERE/test_security.py" restart
    # shellcheck disable=SC2046
    kcat_lists "after restart: mTLS as User:alice, the DESCRIBE ACL still decides what Metadata lists" "$S_SSL" \
      k-visible k-hidden $(k_mtls alice)
    KC_LIB=$KCAT_WHEEL_LIB kcat_lists \
      "after restart: the Java-created SCRAM-SHA-256 user authenticates (wheel librdkafka); its ACLs decide what Metadata lists" \
      "$S_SASL" "j-visible j-read" j-hidden $(k_sasl 0 SCRAM-SHA-256 jbob bob-pw)
  else
    fail "security: the secure broker did not restart"
  fi
fi

# ---------------------------------------------------------------- broker health
for b in "open:$O_PID:$O_LOG" "secure:$S_PID:$S_LOG"; do
  IFS=: read -r name pid logf <<<"$b"
  if grep -qE '(^|[ m])ERROR|panicked at' "$logf"; then
    fail "security: $name broker log has errors: $(grep -E '(^|[ m])ERROR|panicked at' "$logf" | head -n 3 | cut -c1-300 | tr '\n' ' ')"
  else
    pass "security: no ERROR or panic in the $name broker's log"
  fi
  kill -0 "$pid" 2>/dev/null && pass "security: $name broker still running at the end" \
    || fail "security: $name broker process died during the suite"
done
suite_finish
