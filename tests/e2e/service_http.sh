#!/usr/bin/env bash
# A Deployment of each proxy image (nginx, HAProxy) behind a Service answers HTTP from the
# host through the ClusterIP and through the NodePort on the node's address.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_namespace

check() { # NAME IMAGE PATTERN
  local name="$1" image="$2" pattern="$3" ip port
  deploy "$name" "$image" 2
  ip="$(k get svc "$name" -o jsonpath='{.spec.clusterIP}')"
  port="$(k get svc "$name" -o jsonpath='{.spec.ports[0].nodePort}')"
  [ -n "$ip" ] && [ -n "$port" ] || fail "Service $name has no ClusterIP/NodePort"
  http_get "http://$ip/" "$pattern" >/dev/null
  ok "$image: GET http://$ip/ (ClusterIP) answers $pattern"
  http_get "http://$INGRESSX_NODE_IP:$port/" "$pattern" >/dev/null
  ok "$image: GET http://$INGRESSX_NODE_IP:$port/ (NodePort) answers $pattern"
  # Both replicas serve: the pod's hostname is in the body. (kube-proxy may program the
  # second endpoint a moment after the rollout is reported done.)
  local seen=""
  for _ in $(seq 1 80); do
    seen="$(printf '%s\n' "$seen" "$(curl -fsS --max-time 3 "http://$ip/" | awk '{print $2}')" | sort -u | grep -v '^$')" || true
    [ "$(wc -l <<<"$seen")" -ge 2 ] && break
    sleep 0.1
  done
  [ "$(wc -l <<<"$seen")" -ge 2 ] || fail "$name: only one backend answered through the ClusterIP in 80 requests (~10 s): $seen"
  ok "$name: both replicas answer through the ClusterIP ($(tr '\n' ' ' <<<"$seen"))"
}

check nginx "$INGRESSX_NGINX_IMAGE" ingressx-nginx
ip="$(k get svc nginx -o jsonpath='{.spec.clusterIP}')"
http_get "http://$ip/nginx_status" 'Active connections' >/dev/null
ok "nginx stub_status through the ClusterIP"
check haproxy "$INGRESSX_HAPROXY_IMAGE" ingressx-haproxy
