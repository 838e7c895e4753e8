#!/usr/bin/env bash
# A proxy pod killed mid-drain, under load through the strict front door: in drain-primary
# one pod of `edge` (the fleet being drained), and in drain-temp one pod of `edge-temp`, is
# killed without a graceful stop (deleted with --grace-period=0 --force: its containers get
# SIGKILL, as on a node failure or an OOM kill) once the fleet's observed connections are
# 0, so no request is lost with it. Its Deployment starts a replacement meanwhile. The
# drain must neither end early nor hang on the pod that vanished: it ends by connections
# (the replacement counted), the rollout Succeeded with every planned step once, the
# provider saw the plan's moves only, and 0 requests failed.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/operator_lib.sh
. "$(dirname "$0")/operator_lib.sh"
opx_setup
# Drains of 40 s at least: the load's 20 s requests end about 20 s after the shift, and
# the drain still has time then to see 0 connections, lose a pod and count its replacement.
OPX_MIN_DRAIN=40s
opx_prepare TempFleet '[{weight: 50, pause: 5s}, {weight: 100}]'
opx_start_operator main
opx_fleet_up edge-primary edge

# fleet_conns FLEET : status.fleets[FLEET].activeConnections ("" when unknown).
fleet_conns() {
  opx_pf '{.status.fleets}' | python3 -c '
import json, sys
try:
    fl = json.load(sys.stdin)
except Exception:
    sys.exit(0)
for f in fl:
    if f.get("name") == sys.argv[1] and "activeConnections" in f:
        print(f["activeConnections"])' "$1"
}
declare -A killed=()
# kill_one FLEET STEP : once the fleet's connections read 0, force-deletes one of its pods.
kill_one() {
  local fleet="$1" step="$2" pod conns
  conns="$(fleet_conns "$fleet")"
  [ "$conns" = 0 ] || return 0
  pod="$(opx_fleet_pods "$fleet" 2>/dev/null | awk '$3 == "running" { print $1; exit }')"
  [ -n "$pod" ] || return 0
  k delete pod "$pod" --grace-period=0 --force --wait=false >/dev/null 2>&1 ||
    fail "could not delete pod $pod of $fleet"
  killed[$step]="$pod"
  opx_log "killed pod $pod of $fleet in $step (its connections read 0; no graceful stop)"
}

opx_load_start_recording
opx_start_rollout 2
t0=$SECONDS
while [ $((SECONDS - t0)) -lt 900 ]; do
  opx_record_split
  opx_poll_rollout "$OPX_FR" "$t0"
  case "$OPX_STEP" in
    drain-primary) [ -n "${killed[drain-primary]:-}" ] || kill_one edge drain-primary ;;
    drain-temp) [ -n "${killed[drain-temp]:-}" ] || kill_one edge-temp drain-temp ;;
  esac
  case "$OPX_PHASE" in Succeeded | Failed | Aborted) break ;; esac
  sleep 0.3
done
[ "$OPX_PHASE" = Succeeded ] || fail "FleetRollout $OPX_FR ended '$OPX_PHASE' ($(k get fr "$OPX_FR" -o jsonpath='{.status.message}'))"
[ -n "${killed[drain-primary]:-}" ] || fail "no pod of edge was killed during drain-primary (its connections never read 0 while the step ran)"
[ -n "${killed[drain-temp]:-}" ] || fail "no pod of edge-temp was killed during drain-temp (its connections never read 0 while the step ran)"
opx_load_finish
opx_print_rollout "$OPX_FR"
opx_check_plan TempFleet "$OPX_FR"
# Both drains ended by connections, not by maxDrain (60 s here): the vanished pod did not
# leave the count unknown for good.
decided="$(k get fr "$OPX_FR" -o json | python3 -c '
import json, sys
print(" ".join("%s:%s" % (d["fleet"], d.get("decidedBy", "")) for d in json.load(sys.stdin)["status"].get("drains", [])))')"
[ "$decided" = "edge:connections edge-temp:connections" ] ||
  fail "the drains were decided as [$decided], want [edge:connections edge-temp:connections]"
opx_assert_fleet_pods edge 2 3 120
opx_wait_gone deploy/edge-temp 60
ok "a pod killed in drain-primary (${killed[drain-primary]}) and in drain-temp (${killed[drain-temp]}): both drains ended by connections, the rollout Succeeded with every step once, 0 failed requests"
