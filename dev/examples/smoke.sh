#!/usr/bin/env bash
# Checks the full dev/cluster by hand: node Ready and versions, the local nginx image
# behind a Service through ClusterIP and NodePort, cluster DNS from a pod, logs, exec, a
# rolling update, and the preStop demo. Needs a running `dev/cluster up`.
#   dev/examples/smoke.sh          (exit 0 when every check passes)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
eval "$("$ROOT/dev/cluster" env)"
[ "${INGRESSX_MODE:-}" = full ] || { echo "smoke: no full cluster (run dev/cluster up)" >&2; exit 2; }

fails=0
check() { # NAME CMD...
  local name="$1"
  shift
  local out
  if out="$("$@" 2>&1)"; then
    printf 'ok    %s\n' "$name"
  else
    printf 'FAIL  %s\n%s\n' "$name" "$out" | sed '3,$s/^/      /'
    fails=$((fails + 1))
  fi
}

node_ready() {
  [ "$(kubectl get node "$INGRESSX_NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
versions() {
  local s k p
  s="$(kubectl version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')"
  k="$(kubectl get node "$INGRESSX_NODE_NAME" -o jsonpath='{.status.nodeInfo.kubeletVersion}')"
  p="$(kubectl get node "$INGRESSX_NODE_NAME" -o jsonpath='{.status.nodeInfo.kubeProxyVersion}')"
  echo "apiserver $s kubelet $k kube-proxy $p"
  [[ "$s" == v1.32.* && "$k" == v1.32.* ]]
}
deploy() {
  kubectl apply -f "$HERE/nginx-demo.yaml" >/dev/null
  kubectl rollout status deploy/nginx-demo --timeout=90s
}
cluster_ip() {
  local ip
  ip="$(kubectl get svc nginx-demo -o jsonpath='{.spec.clusterIP}')"
  curl -fsS --max-time 5 "http://$ip/" | grep -q ingressx-nginx &&
    curl -fsS --max-time 5 "http://$ip/nginx_status" | grep -q 'Active connections'
}
node_port() { curl -fsS --max-time 5 "http://$INGRESSX_NODE_IP:30080/" | grep -q ingressx-nginx; }
pod() { kubectl get pod -l app=nginx-demo -o jsonpath='{.items[0].metadata.name}'; }
dns() {
  kubectl exec "$(pod)" -- nslookup nginx-demo.default.svc.cluster.local | grep -q "$(kubectl get svc nginx-demo -o jsonpath='{.spec.clusterIP}')"
}
logs() { kubectl logs "$(pod)" | grep -q 'GET /'; }
exec_() { [ "$(kubectl exec "$(pod)" -- cat /etc/hostname)" = "$(pod)" ]; }
pod_to_apiserver() {
  kubectl exec "$(pod)" -- sh -c 'printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 kubernetes.default.svc.cluster.local 443' | grep -q 'HTTP/1.0 400'
}
rolling_update() {
  kubectl patch deploy nginx-demo -p "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"smoke\":\"$RANDOM$RANDOM\"}}}}}" >/dev/null
  kubectl rollout status deploy/nginx-demo --timeout=90s
}

check "node $INGRESSX_NODE_NAME Ready" node_ready
check "versions are 1.32.x" versions
check "nginx Deployment rolls out" deploy
check "Service answers through its ClusterIP (incl. stub_status)" cluster_ip
check "Service answers through NodePort $INGRESSX_NODE_IP:30080" node_port
check "a pod resolves the Service name through cluster DNS" dns
check "kubectl logs" logs
check "kubectl exec" exec_
check "a pod reaches the apiserver through the kubernetes Service" pod_to_apiserver
check "a rolling update finishes" rolling_update
check "preStop hook runs, then the stop signal" "$HERE/prestop-demo.sh"
kubectl delete -f "$HERE/nginx-demo.yaml" --wait=false >/dev/null 2>&1 || true
if [ $fails -ne 0 ]; then
  echo "smoke: $fails check(s) failed"
  exit 1
fi
echo "smoke: all checks passed"
