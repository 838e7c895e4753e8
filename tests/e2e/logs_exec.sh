#!/usr/bin/env bash
# kubectl logs and kubectl exec (output, stdin, exit codes) on a running pod.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_namespace
deploy web "$INGRESSX_NGINX_IMAGE" 1
pod="$(k get pod -l app=web -o jsonpath='{.items[0].metadata.name}')"
podip="$(k get pod "$pod" -o jsonpath='{.status.podIP}')"

marker="e2e-logs-$RANDOM$RANDOM"
curl -fsS --max-time 5 "http://$podip/$marker" >/dev/null || fail "GET http://$podip/$marker (pod IP) failed"
for _ in $(seq 1 20); do
  k logs "$pod" 2>/dev/null | grep -q "GET /$marker" && break
  sleep 0.5
done
out="$(k logs "$pod" 2>&1)" || fail "kubectl logs $pod failed: $out"
grep -q "GET /$marker" <<<"$out" || fail "kubectl logs $pod does not show the request GET /$marker: $(tail -5 <<<"$out")"
ok "kubectl logs shows the access-log line of GET /$marker"

h="$(k exec "$pod" -- cat /etc/hostname)" || fail "kubectl exec cat /etc/hostname failed"
[ "$h" = "$pod" ] || fail "kubectl exec: hostname is '$h', want '$pod'"
ok "kubectl exec: /etc/hostname is $pod"
out="$(printf 'hello-%s\n' "$marker" | k exec -i "$pod" -- cat)" || fail "kubectl exec -i failed"
[ "$out" = "hello-$marker" ] || fail "kubectl exec -i echoed '$out'"
ok "kubectl exec -i passes stdin"
rc=0
k exec "$pod" -- sh -c 'exit 7' || rc=$?
[ $rc -eq 7 ] || fail "kubectl exec exit code is $rc, want 7"
ok "kubectl exec returns the command's exit code"
