# Shared helpers of the e2e test scripts (sourced). Each test gets its own namespace,
# deleted on exit by a trap; fail() prints a clear message and exits non-zero.
# shellcheck shell=bash
set -euo pipefail
E2E_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
E2E_NAME="$(basename "$0" .sh)"
eval "$("$E2E_ROOT/dev/cluster" env)"
[ "${INGRESSX_MODE:-}" = full ] || { echo "FAIL: no full cluster in ${INGRESSX_CLUSTER_DIR:-?} (cluster.up)" >&2; exit 1; }
export KUBECONFIG

fail() {
  echo "FAIL [$E2E_NAME]: $*" >&2
  exit 1
}
ok() { echo "ok    $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

# e2e_namespace : creates a fresh namespace NS; on exit the namespace (and every object
# in it) is deleted, and so are the directories registered with e2e_cleanup_dir.
E2E_CLEAN_DIRS=()
e2e_cleanup() {
  local rc=$?
  if [ $rc -ne 0 ] && [ -n "${NS:-}" ]; then
    echo "--- state of namespace $NS at failure"
    kubectl -n "$NS" get all,events -o wide 2>&1 | tail -n 40 || true
  fi
  if [ -n "${NS:-}" ]; then
    kubectl delete namespace "$NS" --wait=true --timeout=90s >/dev/null 2>&1 ||
      echo "warning: namespace $NS not deleted within 90 s" >&2
  fi
  local d
  for d in "${E2E_CLEAN_DIRS[@]}"; do rm -rf -- "$d"; done
  exit $rc
}
e2e_namespace() {
  NS="e2e-${E2E_NAME//_/-}-$(printf '%04x%04x' $RANDOM $RANDOM)"
  trap e2e_cleanup EXIT
  kubectl create namespace "$NS" >/dev/null || fail "could not create namespace $NS"
  # Pods need the namespace's default ServiceAccount (made by the controller-manager).

  for _ in $(seq 1 60); do
    kubectl -n "$NS" get serviceaccount default >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  fail "namespace $NS has no default ServiceAccount after 30 s"
}
e2e_cleanup_dir() { E2E_CLEAN_DIRS+=("$1"); }

k() { kubectl -n "$NS" "$@"; }

# deploy NAME IMAGE REPLICAS : a Deployment of IMAGE (port 80, readiness on /healthz)
# behind a NodePort Service NAME (node port picked by the apiserver); waits for rollout.
deploy() {
  local name="$1" image="$2" replicas="$3"
  k apply -f - >/dev/null <<YAML || fail "could not apply Deployment/Service $name"
apiVersion: apps/v1
kind: Deployment
metadata: {name: $name, labels: {app: $name}}
spec:
  replicas: $replicas
  selector: {matchLabels: {app: $name}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: $name}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: proxy
        image: $image
        imagePullPolicy: Never
        ports: [{name: http, containerPort: 80}]
        readinessProbe:
          httpGet: {path: /healthz, port: 80}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: $name}
spec:
  type: NodePort
  selector: {app: $name}
  ports: [{name: http, port: 80, targetPort: http}]
YAML
  k rollout status "deploy/$name" --timeout=120s || fail "Deployment $name did not roll out in 120 s"
}

# http_get URL PATTERN : curl from the host until the body matches PATTERN (kube-proxy
# may need a moment to program a new Service); prints the body.
http_get() {
  local url="$1" pattern="$2" body=""
  for _ in $(seq 1 20); do
    body="$(curl -fsS --max-time 3 "$url" 2>&1)" && grep -q -- "$pattern" <<<"$body" && {
      printf '%s\n' "$body"
      return 0
    }
    sleep 0.5
  done
  fail "GET $url did not answer with /$pattern/ within 10 s; last: $body"
}
