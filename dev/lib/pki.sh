# Certificates, keys and static tokens for dev/cluster (openssl). Sourced, not executed.
# shellcheck shell=bash

# _ossl ARGS... : openssl with its chatter in logs/openssl.log, shown if it fails.
_ossl() {
  openssl "$@" 2>>"$LOG_DIR/openssl.log" || {
    tail -n 20 -- "$LOG_DIR/openssl.log" >&2 || true
    die "openssl $1 failed"
  }
}

# _key FILE : ECDSA P-256 private key (PKCS#8 PEM) for TLS; fast to generate.
_key() {
  _ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

# _sign NAME SUBJECT EXTENSIONS : key + CA-signed cert $PKI_DIR/NAME.{key,crt}
_sign() {
  local name="$1" subject="$2" ext="$3"
  _key "$PKI_DIR/$name.key"
  _ossl req -new -key "$PKI_DIR/$name.key" -subj "$subject" -out "$PKI_DIR/$name.csr"
  printf '%s\n' "$ext" >"$PKI_DIR/$name.ext"
  _ossl x509 -req -in "$PKI_DIR/$name.csr" -CA "$PKI_DIR/ca.crt" -CAkey "$PKI_DIR/ca.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "$PKI_DIR/$name.ext" \
    -out "$PKI_DIR/$name.crt"
  rm -f -- "$PKI_DIR/$name.csr" "$PKI_DIR/$name.ext"
}

# make_pki : CA, apiserver serving cert, admin client cert (ECDSA P-256 keys), and the
# service-account key pair (RSA 2048).
make_pki() {
  mkdir -p -- "$PKI_DIR"
  chmod 700 "$PKI_DIR"
  _key "$PKI_DIR/ca.key"
  _ossl req -x509 -new -key "$PKI_DIR/ca.key" -subj "/CN=ingressx-dev-ca" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$PKI_DIR/ca.crt"

  _sign apiserver "/CN=kube-apiserver" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:${SERVICE_IP},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local${APISERVER_EXTRA_SANS:-}"

  _sign admin "/O=system:masters/CN=ingressx-admin" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

  _ossl genrsa -out "$PKI_DIR/sa.key" 2048
  _ossl rsa -in "$PKI_DIR/sa.key" -pubout -out "$PKI_DIR/sa.pub"
  rm -f -- "$PKI_DIR/ca.srl"
}

# make_tokens : static token file for the apiserver and one token file per user.
make_tokens() {
  mkdir -p -- "$AUTH_DIR"
  chmod 700 "$AUTH_DIR"
  local token_user exec_user
  token_user="$(openssl rand -hex 24)"
  exec_user="$(openssl rand -hex 24)"
  (umask 077 && printf '%s\n' "$token_user" >"$TOKEN_USER_TOKEN_FILE")
  (umask 077 && printf '%s\n' "$exec_user" >"$EXEC_USER_TOKEN_FILE")
  # token,user,uid,"group1,group2"
  # shellcheck disable=SC2153 # TOKEN_USER/EXEC_USER come from controlplane.sh
  (umask 077 && printf '%s\n' \
    "$token_user,$TOKEN_USER,ingressx-token-user-uid,\"ingressx:testers\"" \
    "$exec_user,$EXEC_USER,ingressx-exec-user-uid,\"ingressx:testers\"" \
    >"$AUTH_DIR/tokens.csv")
}
