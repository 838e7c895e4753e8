#!/usr/bin/env bash
# The operator tests' harness, checked without the operator: the ProxyFleet manifests
# they apply are accepted by the apiserver (server-side dry run, both strategies); the
# front door (HAProxy on the host) with a plain nginx Deployment (no ingressx) behind it
# and the load clients report 0 failed requests on a steady fleet; and the same load
# DOES report failures when traffic is broken on purpose (a server address with nothing
# listening; no pod behind the Service for 10 s). Also prints, for comparison, a plain rolling
# restart of that Deployment under load: the same run without ingressx.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/operator_lib.sh
. "$(dirname "$0")/operator_lib.sh"
opx_setup
opx_prepare TempFleet '[{weight: 50, pause: 5s}, {weight: 100}]'
opx_render_fleet BlueGreen '[{weight: 50, pause: 5s}, {weight: 100}]'
opx_dry_run_fleet
opx_render_fleet TempFleet '[{weight: 50, pause: 60s}, {weight: 100}]'
opx_dry_run_fleet
ok "the ProxyFleet manifests (TempFleet, BlueGreen, abort steps) pass the apiserver's validation (dry run)"

opx_render operator-plain-nginx.yaml | k apply -f - >/dev/null || fail "could not apply the plain nginx Deployment"
k rollout status deploy/plain --timeout=120s >/dev/null || fail "plain nginx did not become ready in 120 s"
plain_ip="$(k get svc plain -o jsonpath='{.spec.clusterIP}')"
opx_haproxy_point edge-primary "$plain_ip" 80 100
opx_wait_traffic_on edge-primary plain 10
opx_http_ok "http://127.0.0.1:$OPX_HAPROXY_PORT/?delay=10ms"
hdr="$(curl -fsS -o /dev/null -D - "http://127.0.0.1:$OPX_HAPROXY_PORT/")" || fail "no answer through the front door"
grep -qi '^x-proxy: plain-' <<<"$hdr" || fail "the answer did not come through the plain nginx pods: $hdr"
ok "front door -> HAProxy -> plain nginx ($plain_ip) -> fortio backend answers"

# run_phase NAME SECONDS [ACTION...] : load for SECONDS, ACTION run in the background
# after 5 s; sets bad (failed requests of the phase).
run_phase() {
  local name="$1" secs="$2"
  shift 2
  opx_log "=== phase $name ($secs s of load)"
  opx_load_start_all
  if [ $# -gt 0 ]; then
    sleep 5
    "$@"
    sleep $((secs - 5))
  else
    sleep "$secs"
  fi
  opx_load_stop
  bad=0
  opx_load_report || bad="$OPX_LOAD_BAD"
  opx_log "=== phase $name: $bad failed requests"
}

run_phase steady 45
[ "$bad" = 0 ] || fail "a steady fleet behind the front door gave $bad failed requests: the harness is not sound"
ok "steady fleet: 0 failed requests"

break_address() {
  opx_haproxy_point edge-primary 127.0.0.1 9 100
  sleep 10
  opx_haproxy_point edge-primary "$plain_ip" 80 100
}
run_phase nothing-listening 30 break_address
[ "$bad" -gt 0 ] || fail "10 s with the server on an address where nothing listens gave no failed request: the harness cannot fail"
ok "server pointed at 127.0.0.1:9 for 10 s: $bad failed requests reported"

no_pods() {
  k scale deploy/plain --replicas=0 >/dev/null
  sleep 10
  k scale deploy/plain --replicas=3 >/dev/null
  k rollout status deploy/plain --timeout=120s >/dev/null
}
run_phase no-pods 30 no_pods
[ "$bad" -gt 0 ] || fail "10 s with no pod behind the Service gave no failed request: the harness cannot fail"
ok "Deployment scaled to 0 for 10 s under load: $bad failed requests reported"

restart() {
  k rollout restart deploy/plain >/dev/null
  k rollout status deploy/plain --timeout=120s >/dev/null
}
run_phase plain-rolling-restart 30 restart
ok "baseline without ingressx: a rolling restart of plain nginx under load: $bad failed requests"
