#!/usr/bin/env bash
# The node is Ready and every component is Kubernetes 1.32.x: the running binaries'
# --version, the apiserver's /version and the node's kubeletVersion.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
want="${INGRESSX_E2E_K8S_MINOR:-v1.32.}"

ready="$(kubectl get node "$INGRESSX_NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')"
[ "$ready" = True ] || fail "node $INGRESSX_NODE_NAME is not Ready (Ready=$ready)"
kubectl get nodes -o wide
ok "node $INGRESSX_NODE_NAME Ready"

# The binaries that actually run: /proc/PID/exe of each component's recorded pid.
for c in kube-apiserver kubelet kube-proxy kube-controller-manager kube-scheduler; do
  pid="$(tr -dc 0-9 <"$INGRESSX_CLUSTER_DIR/run/$c.pid" 2>/dev/null)" || true
  [ -n "$pid" ] && [ -e "/proc/$pid/exe" ] || fail "$c: no running process (pid file $INGRESSX_CLUSTER_DIR/run/$c.pid)"
  v="$("/proc/$pid/exe" --version 2>&1)" || fail "$c --version failed: $v"
  [[ "$v" == "Kubernetes $want"* ]] || fail "$c --version prints '$v', want Kubernetes ${want}x"
  ok "$c (pid $pid, $(readlink "/proc/$pid/exe")): $v"
done

s="$(kubectl version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')"
[[ "$s" == "$want"* ]] || fail "apiserver /version is $s, want ${want}x"
ok "apiserver /version: $s"
kv="$(kubectl get nodes -o jsonpath='{.items[*].status.nodeInfo.kubeletVersion}')"
[[ "$kv" == "$want"* ]] || fail "node kubeletVersion is '$kv', want ${want}x"
ok "node kubeletVersion: $kv"
