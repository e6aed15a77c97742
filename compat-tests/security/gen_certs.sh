#!/usr/bin/env bash
# Generates the security suite's certificates with the openssl CLI (EC P-256 keys, PKCS#8,
# unencrypted; valid for 2 days) into DIR:
#   ca.pem                      the test CA (the truststore of brokers and clients)
#   server.keystore.pem         the broker's key + certificate chain (SAN IP:127.0.0.1, DNS:localhost)
#   <name>.key / <name>.crt     a client's key and certificate (librdkafka, kcat)
#   <name>.keystore.pem         the same key + certificate in one PEM file (Java ssl.keystore.type=PEM)
# Clients signed by the CA: alice (CN=alice,OU=compat,O=Brook), admin (CN=admin,OU=compat,O=Brook),
# dave (CN=dave: no comma, so the suite's RULE does not match and DEFAULT keeps the whole DN);
# eve (CN=eve,OU=compat,O=Brook) is signed by rogue-ca.pem, a CA the broker does not trust.
#
#   gen_certs.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
exec 3>&2 2>openssl.log   # openssl is chatty; its messages are kept in openssl.log

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

ca() { # name subject
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days 2 -subj "$2" -out "$1.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

leaf() { # name subject ca ext...
  local name=$1 subj=$2 ca=$3; shift 3
  key "$name.key"
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr"
  printf '%s\n' "$@" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial -days 2 -sha256 \
    -extfile "$name.ext" -out "$name.crt"
  cat "$name.key" "$name.crt" "$ca.pem" >"$name.keystore.pem"
}

ca ca "/O=Brook/CN=Brook compat test CA"
ca rogue-ca "/O=Rogue/CN=Rogue CA"
leaf server "/O=Brook/OU=compat/CN=localhost" ca \
  "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
  "subjectAltName=IP:127.0.0.1,DNS:localhost"
client_ext=("basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=clientAuth")
leaf alice "/O=Brook/OU=compat/CN=alice" ca "${client_ext[@]}"
leaf admin "/O=Brook/OU=compat/CN=admin" ca "${client_ext[@]}"
leaf dave "/CN=dave" ca "${client_ext[@]}"
leaf eve "/O=Brook/OU=compat/CN=eve" rogue-ca "${client_ext[@]}"
exec 2>&3
for c in server alice admin dave; do openssl verify -CAfile ca.pem "$c.crt" >/dev/null; done
