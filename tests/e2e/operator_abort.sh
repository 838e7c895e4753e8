#!/usr/bin/env bash
# Abort under load: a TempFleet rollout holds at shift-to-temp/1 (50/50, pause 60 s);
# spec.abort=true must move all traffic back to edge (the known-good revision), remove
# edge-temp (Deployment and Service), end the FleetRollout Aborted and the fleet in phase
# Aborted, with every request through the host's HAProxy answering 2xx.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/operator_lib.sh
. "$(dirname "$0")/operator_lib.sh"
opx_setup
opx_prepare TempFleet '[{weight: 50, pause: 60s}, {weight: 100}]'
opx_start_operator main
opx_fleet_up edge-primary edge

opx_load_start_all
sleep 3
opx_start_rollout 2
opx_wait_step "$OPX_FR" shift-to-temp/1 180
# Traffic 50/50, as HAProxy has it.
split=""
for _ in $(seq 1 60); do
  split="$(opx_haproxy_servers | awk '$1 == "edge-primary" && $5 == "ready" { p = $4 } $1 == "edge-temp" && $5 == "ready" { t = $4 } END { print p + 0, t + 0 }')" || split="0 0"
  read -r wp wt <<<"$split"
  [ "$wp" -gt 0 ] && [ "$wp" = "$wt" ] && break
  sleep 0.5
done
[ "$wp" -gt 0 ] && [ "$wp" = "$wt" ] || fail "at shift-to-temp/1 HAProxy does not split 50/50: $(opx_haproxy_summary)"
temp_ip="$(k get svc edge-temp -o jsonpath='{.spec.clusterIP}')" || fail "no Service edge-temp at shift-to-temp/1"
opx_haproxy_servers | grep -q "^edge-temp $temp_ip " || fail "edge-temp's server is not at Service edge-temp ($temp_ip): $(opx_haproxy_summary)"
ok "at shift-to-temp/1: HAProxy splits 50/50: $(opx_haproxy_summary)"

t0=$SECONDS
k patch pf edge --type merge -p '{"spec":{"abort":true}}' >/dev/null || fail "could not set spec.abort"
opx_log "spec.abort=true"
opx_watch_rollout "$OPX_FR" Aborted 180
abort_took=$((SECONDS - t0))
opx_wait_traffic_on edge-primary edge 30
opx_wait_fleet_phase Aborted 60
opx_wait_gone deploy/edge-temp 120
opx_wait_gone svc/edge-temp 60
opx_load_finish
opx_assert_fleet_pods edge 1 3 30
cur="$(opx_pf '{.status.currentRevision}')"
[ "$cur" = "$OPX_REV0" ] || fail "status.currentRevision is $cur after the abort, want the known-good $OPX_REV0"
opx_print_rollout "$OPX_FR"
ok "abort at shift-to-temp/1: FleetRollout Aborted $abort_took s after spec.abort, traffic back on edge (revision $OPX_REV0), edge-temp removed, 0 failed requests"
