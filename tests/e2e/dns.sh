#!/usr/bin/env bash
# A pod resolves a Service name through cluster DNS (full name, short name through the
# search path, kubernetes.default) and reaches the apiserver through its Service.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_namespace
deploy web "$INGRESSX_NGINX_IMAGE" 1
ip="$(k get svc web -o jsonpath='{.spec.clusterIP}')"
pod="$(k get pod -l app=web -o jsonpath='{.items[0].metadata.name}')"

ns_conf="$(k exec "$pod" -- cat /etc/resolv.conf)"
grep -q "nameserver $INGRESSX_CLUSTER_DNS_IP" <<<"$ns_conf" || fail "pod's resolv.conf does not name $INGRESSX_CLUSTER_DNS_IP: $ns_conf"
ok "pod's resolv.conf uses cluster DNS $INGRESSX_CLUSTER_DNS_IP"

name="web.$NS.svc.$INGRESSX_CLUSTER_DOMAIN"
out="$(k exec "$pod" -- nslookup "$name" 2>&1)" || fail "nslookup $name in pod $pod failed: $out"
grep -q "Address: $ip\$" <<<"$out" || fail "nslookup $name did not return the ClusterIP $ip: $out"
ok "pod resolves $name -> $ip"
# The short name through the search path: busybox's nslookup asks every search domain and
# exits 1 when any of them is NXDOMAIN, so only its answer counts here.
out="$(k exec "$pod" -- nslookup web 2>&1)" || true
grep -A1 "^Name:[[:space:]]*$name\$" <<<"$out" | grep -q "Address: $ip\$" ||
  fail "nslookup web (search path) did not return $name -> $ip: $out"
ok "pod resolves the short name web -> $name -> $ip (search path)"
# HTTP to the address the pod resolved (busybox-static's wget crashes in these images, exit
# 139, as do nc and wget on host names: a static glibc cannot load NSS modules).
got="$(k exec "$pod" -- nslookup "$name" 2>/dev/null | awk '/^Name:/ { n = 1 } n && /^Address: / { print $2; exit }')"
[ "$got" = "$ip" ] || fail "resolved $name to '$got', want $ip"
# kube-proxy may program the new Service a moment after the rollout: until then the
# packets follow the default route, so retry for up to 10 s.
for _ in $(seq 1 20); do
  out="$(k exec "$pod" -- sh -c "printf 'GET / HTTP/1.0\r\nHost: $name\r\n\r\n' | nc -w 3 $got 80" 2>&1)" || true
  grep -q ingressx-nginx <<<"$out" && break
  sleep 0.5
done
grep -q ingressx-nginx <<<"$out" || fail "GET http://$got/ ($name) from the pod did not reach nginx in 10 s; last: $out"
ok "pod GETs http://$name/ through the resolved address $got"
kip="$(kubectl get svc kubernetes -n default -o jsonpath='{.spec.clusterIP}')"
out="$(k exec "$pod" -- nslookup "kubernetes.default.svc.$INGRESSX_CLUSTER_DOMAIN" 2>&1)" || fail "nslookup kubernetes.default.svc failed: $out"
grep -q "Address: $kip\$" <<<"$out" || fail "kubernetes.default.svc did not resolve to $kip: $out"
out="$(k exec "$pod" -- sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 $kip 443" 2>&1)" || true
grep -q 'HTTP/1.0 400' <<<"$out" || fail "pod did not reach the apiserver through the kubernetes Service $kip:443: $out"
ok "pod resolves kubernetes.default.svc -> $kip and reaches the apiserver through it"
