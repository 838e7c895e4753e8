#!/usr/bin/env bash
# The locally built backend and ingressx images run: fortio behind a Service answers and
# delays a response on request; the ingressx image's ingressx-hook runs in a pod.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_namespace

k apply -f - >/dev/null <<YAML || fail "could not apply the fortio Deployment/Service"
apiVersion: apps/v1
kind: Deployment
metadata: {name: fortio}
spec:
  replicas: 1
  selector: {matchLabels: {app: fortio}}
  template:
    metadata: {labels: {app: fortio}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: fortio
        image: $INGRESSX_FORTIO_IMAGE
        imagePullPolicy: Never
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /echo, port: 8080}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: fortio}
spec:
  selector: {app: fortio}
  ports: [{name: http, port: 8080, targetPort: http}]
YAML
k rollout status deploy/fortio --timeout=120s || fail "fortio did not roll out in 120 s"
ip="$(k get svc fortio -o jsonpath='{.spec.clusterIP}')"
http_get "http://$ip:8080/echo?status=200" '' >/dev/null
ok "fortio ($INGRESSX_FORTIO_IMAGE) answers through its ClusterIP"
body="$(curl -fsS --max-time 5 -d "e2e-echo" "http://$ip:8080/echo")" || fail "POST /echo failed"
[ "$body" = e2e-echo ] || fail "fortio /echo returned '$body', want the request body"
t0="$(uptime_s)"
curl -fsS --max-time 10 -o /dev/null "http://$ip:8080/echo?delay=1500ms" || fail "GET /echo?delay=1500ms failed"
t1="$(uptime_s)"
awk -v a="$t0" -v b="$t1" 'BEGIN { d = b - a; printf "delayed response took %.2fs\n", d; exit !(d >= 1.5 && d < 5) }' ||
  fail "fortio did not delay the response by 1.5 s"
ok "fortio echoes and delays responses (?delay=1500ms)"

if [ -z "$(ctr --address "$INGRESSX_CONTAINERD_SOCKET" -n k8s.io images ls -q name=="$INGRESSX_INGRESSX_IMAGE" 2>/dev/null)" ]; then
  fail "no $INGRESSX_INGRESSX_IMAGE in the cluster: build ingressx-hook first (cmake --build <dir> --target ingressx-hook; dev/cluster images)"
fi
k apply -f - >/dev/null <<YAML || fail "could not create the ingressx-hook pod"
apiVersion: v1
kind: Pod
metadata: {name: hook}
spec:
  restartPolicy: Never
  containers:
  - name: hook
    image: $INGRESSX_INGRESSX_IMAGE
    imagePullPolicy: Never
    args: [version]
YAML
k wait --for=jsonpath='{.status.phase}'=Succeeded pod/hook --timeout=60s >/dev/null ||
  fail "pod running ingressx-hook version did not succeed: $(k get pod hook -o jsonpath='{.status}')"
v="$(k logs hook)"
[ -n "$v" ] || fail "ingressx-hook version printed nothing"
ok "ingressx-hook runs from $INGRESSX_INGRESSX_IMAGE: $v"
