#!/usr/bin/env bash
# A rolling update of a Deployment (nginx image -> HAProxy image, maxUnavailable 0)
# finishes, and the Service then answers from the new pods only.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_namespace
deploy web "$INGRESSX_NGINX_IMAGE" 2
ip="$(k get svc web -o jsonpath='{.spec.clusterIP}')"
http_get "http://$ip/" ingressx-nginx >/dev/null
old_rs="$(k get rs -l app=web -o jsonpath='{.items[0].metadata.name}')"

t0=$SECONDS
k set image deploy/web "proxy=$INGRESSX_HAPROXY_IMAGE" >/dev/null || fail "kubectl set image failed"
k rollout status deploy/web --timeout=120s || fail "rolling update did not finish in 120 s"
ok "rollout to $INGRESSX_HAPROXY_IMAGE finished in $((SECONDS - t0)) s"

rev="$(k get deploy web -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}')"
[ "$rev" = 2 ] || fail "Deployment revision is '$rev', want 2"
read -r upd avail <<<"$(k get deploy web -o jsonpath='{.status.updatedReplicas} {.status.availableReplicas}')"
[ "$upd" = 2 ] && [ "$avail" = 2 ] || fail "updated=$upd available=$avail, want 2/2"
old="$(k get rs "$old_rs" -o jsonpath='{.spec.replicas}')"
[ "$old" = 0 ] || fail "old ReplicaSet $old_rs still has $old replicas"
ok "revision 2, 2/2 updated and available, old ReplicaSet scaled to 0"
# kube-proxy drops the old endpoints shortly after they go; then 10 answers in a row
# must come from the new pods.
run=0
for _ in $(seq 1 100); do
  body="$(curl -fsS --max-time 3 "http://$ip/" 2>&1)" || body="error: $body"
  if grep -q ingressx-haproxy <<<"$body"; then run=$((run + 1)); else run=0; fi
  [ $run -ge 10 ] && break
  sleep 0.1
done
[ $run -ge 10 ] || fail "after the rollout the Service still answers from old pods or errors; last: $body"
ok "the Service answers only from the new pods"
