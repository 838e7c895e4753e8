# etcd + kube-apiserver for dev/cluster. Sourced, not executed.
# shellcheck shell=bash

SERVICE_CIDR="10.0.0.0/24"
# shellcheck disable=SC2034 # used by pki.sh
SERVICE_IP="10.0.0.1"
TOKEN_USER="ingressx-token-user"
EXEC_USER="ingressx-exec-user"
SA_ISSUER="https://kubernetes.default.svc.cluster.local"
READY_TIMEOUT="${INGRESSX_READY_TIMEOUT:-90}"
APISERVER_EXTRA_ARGS=()

# --- etcd --------------------------------------------------------------------------

# start_etcd CLIENT_PORT PEER_PORT
start_etcd() {
  local client="http://127.0.0.1:$1" peer="http://127.0.0.1:$2" t0
  t0="$(now)"
  command -v etcd >/dev/null || die "etcd is not installed (Debian package etcd-server)"
  mkdir -p -- "$ETCD_DATA_DIR"
  chmod 700 "$ETCD_DATA_DIR"
  local args=(
    "$(command -v etcd)"
    --name=ingressx
    --data-dir="$ETCD_DATA_DIR"
    --listen-client-urls="$client"
    --advertise-client-urls="$client"
    --listen-peer-urls="$peer"
    --initial-advertise-peer-urls="$peer"
    --initial-cluster="ingressx=$peer"
    --initial-cluster-state=new
    --initial-cluster-token="ingressx-$1"
    --auto-compaction-retention=0
    --logger=zap
    --log-outputs=stderr
    --log-level=warn
  )
  # Only newer etcd releases know this flag (3.4.23 from Debian does not).
  if etcd --help 2>&1 | grep -q -- '--unsafe-no-fsync'; then
    args+=(--unsafe-no-fsync)
  fi
  log "starting etcd on 127.0.0.1:$1 (peer 127.0.0.1:$2)"
  start_daemon etcd "$LOG_DIR/etcd.log" "${args[@]}"
  wait_http etcd "$(pid_of etcd)" 30 "$LOG_DIR/etcd.log" "$client/health" ||
    die "etcd did not become healthy"
  log "etcd ready (pid $(pid_of etcd)) in $(elapsed "$t0")"
}

# --- kube-apiserver ----------------------------------------------------------------

apiserver_curl_args() {
  printf '%s\n' --cacert "$PKI_DIR/ca.crt" --cert "$PKI_DIR/admin.crt" --key "$PKI_DIR/admin.key"
}

# wait_apiserver_ready URL
wait_apiserver_ready() {
  local url="$1" curl_args
  mapfile -t curl_args < <(apiserver_curl_args)
  wait_http kube-apiserver "$(pid_of kube-apiserver)" "$READY_TIMEOUT" "$LOG_DIR/kube-apiserver.log" \
    "${curl_args[@]}" "$url/readyz" ||
    die "kube-apiserver did not become ready at $url/readyz within ${READY_TIMEOUT}s"
}

# start_apiserver BIN PORT ETCD_URL
start_apiserver() {
  local bin="$1" port="$2" etcd="$3" t0
  t0="$(now)"
  mkdir -p -- "$APISERVER_CERT_DIR"
  # shellcheck disable=SC2054 # Node,RBAC is one value
  local args=(
    "$bin"
    --bind-address=127.0.0.1
    --advertise-address=127.0.0.1
    --secure-port="$port"
    --cert-dir="$APISERVER_CERT_DIR"
    --tls-cert-file="$PKI_DIR/apiserver.crt"
    --tls-private-key-file="$PKI_DIR/apiserver.key"
    --client-ca-file="$PKI_DIR/ca.crt"
    --token-auth-file="$AUTH_DIR/tokens.csv"
    --service-account-key-file="$PKI_DIR/sa.pub"
    --service-account-signing-key-file="$PKI_DIR/sa.key"
    --service-account-issuer="$SA_ISSUER"
    --service-cluster-ip-range="$SERVICE_CIDR"
    --etcd-servers="$etcd"
    --etcd-compaction-interval=0
    --watch-cache=true
    # ConfigMap watches go straight to etcd, so tests can force 410 Gone by compacting
    # etcd; every other resource is served from the watch cache as in production.
    --watch-cache-sizes=configmaps#0
    --authorization-mode=Node,RBAC
    --enable-priority-and-fairness=false
    --allow-privileged=true
    --profiling=false
    # Loopback addresses are not valid endpoints of the kubernetes Service; without a
    # node there is nothing to reconcile, so keep the log free of that error.
    --endpoint-reconciler-type=none
    --v=1
    # The full cluster overrides some of these (last flag wins): see dev/cluster.
    "${APISERVER_EXTRA_ARGS[@]}"
  )
  log "starting kube-apiserver on https://127.0.0.1:$port"
  printf 'https://127.0.0.1:%s\n' "$port" >"$RUN_DIR/apiserver.url"
  start_daemon kube-apiserver "$LOG_DIR/kube-apiserver.log" "${args[@]}"
  wait_apiserver_ready "https://127.0.0.1:$port"
  log "kube-apiserver ready (pid $(pid_of kube-apiserver)) in $(elapsed "$t0")"
}

# restart_apiserver : same binary, port and flags as recorded in run/kube-apiserver.args.
restart_apiserver() {
  local argsf="$RUN_DIR/kube-apiserver.args" url t0
  [ -f "$argsf" ] || die 3 "no recorded kube-apiserver in $DIR; run: dev/cluster up --control-plane-only"
  component_running etcd || die 3 "etcd is not running; run: dev/cluster up --control-plane-only"
  url="$(cat "$RUN_DIR/apiserver.url" 2>/dev/null)" || die 3 "no $RUN_DIR/apiserver.url"
  local args
  mapfile -t args <"$argsf"
  t0="$(now)"
  stop_component kube-apiserver || die "could not stop kube-apiserver"
  # Drop it from the start order; start_daemon appends it again.
  if [ -f "$RUN_DIR/order" ]; then
    grep -vx kube-apiserver "$RUN_DIR/order" >"$RUN_DIR/order.tmp" || true
    mv "$RUN_DIR/order.tmp" "$RUN_DIR/order"
  fi
  if [ "${APISERVER_DOWN_SECONDS:-0}" -gt 0 ]; then
    log "kube-apiserver down for ${APISERVER_DOWN_SECONDS} s"
    sleep "$APISERVER_DOWN_SECONDS"
  fi
  log "restarting kube-apiserver on $url"
  start_daemon kube-apiserver "$LOG_DIR/kube-apiserver.log" "${args[@]}"
  wait_apiserver_ready "$url"
  log "kube-apiserver restarted (pid $(pid_of kube-apiserver)) in $(elapsed "$t0")"
}

# --- kubeconfig, RBAC, env ---------------------------------------------------------

# write_kubeconfig URL EXEC_PLUGIN
write_kubeconfig() {
  local url="$1" plugin="$2" ca_data token
  ca_data="$(base64 -w0 <"$PKI_DIR/ca.crt")"
  token="$(tr -d '\n' <"$TOKEN_USER_TOKEN_FILE")"
  # The admin context uses file paths relative to this file's directory on purpose (the
  # loader must resolve them against the kubeconfig's location); the other two embed
  # the CA as certificate-authority-data. The exec plugin gets only its token file from
  # here; INGRESSX_EXEC_COUNT_FILE / INGRESSX_EXEC_EXPIRY_SECONDS come from the caller's
  # environment (an env entry here would override them).
  (umask 077 && cat >"$KUBECONFIG_FILE.tmp" <<EOF
apiVersion: v1
kind: Config
preferences: {}
clusters:
- name: ingressx
  cluster:
    server: $url
    certificate-authority: pki/ca.crt
- name: ingressx-embedded-ca
  cluster:
    server: $url
    certificate-authority-data: $ca_data
users:
- name: admin
  user:
    client-certificate: pki/admin.crt
    client-key: pki/admin.key
- name: $TOKEN_USER
  user:
    token: $token
- name: $EXEC_USER
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: $plugin
      env:
      - name: INGRESSX_EXEC_TOKEN_FILE
        value: $EXEC_USER_TOKEN_FILE
      interactiveMode: Never
      provideClusterInfo: false
contexts:
- name: admin
  context:
    cluster: ingressx
    user: admin
    namespace: default
- name: token
  context:
    cluster: ingressx-embedded-ca
    user: $TOKEN_USER
    namespace: default
- name: exec
  context:
    cluster: ingressx-embedded-ca
    user: $EXEC_USER
    namespace: default
current-context: admin
EOF
  )
  mv "$KUBECONFIG_FILE.tmp" "$KUBECONFIG_FILE"
}

# api_create PATH JSON : POST an object with the admin cert; an existing object is fine.
api_create() {
  local url code curl_args
  url="$(cat "$RUN_DIR/apiserver.url")"
  mapfile -t curl_args < <(apiserver_curl_args)
  code="$(curl -sS --max-time 30 -o "$RUN_DIR/api_create.out" -w '%{http_code}' "${curl_args[@]}" \
    -X POST -H 'Content-Type: application/json' --data-binary "$2" "$url$1")" || code=000
  case "$code" in
    201 | 200 | 409) return 0 ;;
    *)
      log "POST $1 failed with HTTP $code:"
      cat "$RUN_DIR/api_create.out" >&2 || true
      return 1
      ;;
  esac
}

_binding() { # NAME ROLE USER
  printf '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",'
  printf '"metadata":{"name":"%s","labels":{"app.kubernetes.io/managed-by":"ingressx-dev-cluster"}},' "$1"
  printf '"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"%s"},' "$2"
  printf '"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"%s"}]}' "$3"
}

# apply_rbac : the token user may read everything `view` allows plus do anything with
# configmaps; the exec user is cluster-admin. Uses curl, so kubectl is not required.
apply_rbac() {
  local t0 rbac=/apis/rbac.authorization.k8s.io/v1
  t0="$(now)"
  api_create "$rbac/clusterroles" '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"ingressx-test-configmaps","labels":{"app.kubernetes.io/managed-by":"ingressx-dev-cluster"}},"rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["*"]}]}' ||
    die "could not create ClusterRole ingressx-test-configmaps"
  api_create "$rbac/clusterrolebindings" "$(_binding ingressx-token-user-view view "$TOKEN_USER")" ||
    die "could not bind $TOKEN_USER to view"
  api_create "$rbac/clusterrolebindings" \
    "$(_binding ingressx-token-user-configmaps ingressx-test-configmaps "$TOKEN_USER")" ||
    die "could not bind $TOKEN_USER to ingressx-test-configmaps"
  api_create "$rbac/clusterrolebindings" \
    "$(_binding ingressx-exec-user-cluster-admin cluster-admin "$EXEC_USER")" ||
    die "could not bind $EXEC_USER to cluster-admin"
  # The default namespace is created by a controller loop shortly after /readyz.
  local i url curl_args
  url="$(cat "$RUN_DIR/apiserver.url")"
  mapfile -t curl_args < <(apiserver_curl_args)
  for ((i = 0; i < 150; i++)); do
    curl -fsS --max-time 5 -o /dev/null "${curl_args[@]}" "$url/api/v1/namespaces/default" 2>/dev/null && break
    sleep 0.2
  done
  ((i < 150)) || die "namespace default did not appear"
  log "RBAC for $TOKEN_USER (view + configmaps) and $EXEC_USER (cluster-admin) applied in $(elapsed "$t0")"
}

# write_env APISERVER_URL ETCD_URL EXEC_PLUGIN
write_env() {
  cat >"$ENV_FILE.tmp" <<EOF
INGRESSX_CLUSTER_DIR=$DIR
MODE=${CLUSTER_MODE:-control-plane-only}
K8S_VERSION=$K8S_VERSION
KUBECONFIG=$KUBECONFIG_FILE
APISERVER_URL=$1
ETCD_URL=$2
CA_FILE=$PKI_DIR/ca.crt
ADMIN_CERT_FILE=$PKI_DIR/admin.crt
ADMIN_KEY_FILE=$PKI_DIR/admin.key
TOKEN_USER=$TOKEN_USER
TOKEN_USER_TOKEN_FILE=$TOKEN_USER_TOKEN_FILE
EXEC_USER=$EXEC_USER
EXEC_USER_TOKEN_FILE=$EXEC_USER_TOKEN_FILE
EXEC_PLUGIN=$3
SERVICE_CLUSTER_IP_RANGE=$SERVICE_CIDR
SERVICE_ACCOUNT_ISSUER=$SA_ISSUER
APISERVER_LOG=$LOG_DIR/kube-apiserver.log
ETCD_LOG=$LOG_DIR/etcd.log
${EXTRA_ENV:-}
EOF
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}
