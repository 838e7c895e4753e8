#!/usr/bin/env bash
# Shows the kubelet running a preStop exec hook, then SIGTERM, on pod delete, on the
# dev/cluster full cluster. The hook and the container append timestamps (seconds of
# /proc/uptime) to a hostPath file below the cluster dir, read after the delete. The
# nginx image's stop signal is SIGQUIT (nginx's graceful quit), so that is what the
# kubelet sends after the hook.
#   dev/examples/prestop-demo.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
eval "$("$ROOT/dev/cluster" env)"
out="$INGRESSX_CLUSTER_DIR/volumes/prestop-demo"
rm -rf -- "$out"
mkdir -p -- "$out"
kubectl delete pod prestop-demo --ignore-not-found --wait >/dev/null
kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: prestop-demo}
spec:
  terminationGracePeriodSeconds: 10
  volumes: [{name: out, hostPath: {path: $out, type: Directory}}]
  containers:
  - name: main
    image: $INGRESSX_NGINX_IMAGE
    imagePullPolicy: Never
    command: [/bin/sh, -c]
    args:
    - trap 'echo "signal-TERM \$(cut -d" " -f1 /proc/uptime)" >>/out/log; exit 0' TERM;
      trap 'echo "signal-QUIT \$(cut -d" " -f1 /proc/uptime)" >>/out/log; exit 0' QUIT;
      echo "started \$(cut -d" " -f1 /proc/uptime)" >>/out/log;
      while true; do sleep 0.1; done
    volumeMounts: [{name: out, mountPath: /out}]
    lifecycle:
      preStop:
        exec:
          command: [/bin/sh, -c, 'echo "prestop-begin \$(cut -d" " -f1 /proc/uptime)" >>/out/log; sleep 3; echo "prestop-end \$(cut -d" " -f1 /proc/uptime)" >>/out/log']
YAML
kubectl wait --for=condition=Ready pod/prestop-demo --timeout=60s >/dev/null
t0="$(cut -d' ' -f1 /proc/uptime)"
kubectl delete pod prestop-demo --wait --timeout=60s >/dev/null
t1="$(cut -d' ' -f1 /proc/uptime)"
echo "delete issued $t0"
cat "$out/log"
echo "pod gone $t1"
awk -v d="$t0" '{ t[$1] = $2; if ($1 ~ /^signal-/) { sig = $1; ts = $2 } } END {
  printf "preStop began %.2fs after the delete and ran %.2fs; %s %.2fs after the hook ended\n",
    t["prestop-begin"] - d, t["prestop-end"] - t["prestop-begin"], sig, ts - t["prestop-end"]
  exit !(t["prestop-begin"] > 0 && ts >= t["prestop-end"]) }' "$out/log"
