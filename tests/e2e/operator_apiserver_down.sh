#!/usr/bin/env bash
# The apiserver goes away for 30 s in the middle of drain-primary (dev/cluster
# restart-apiserver --down 30), under load through the strict front door: the operator's
# calls fail and back off, it cannot renew its Lease, so after the renew deadline (10 s)
# it stops acting and exits (status 1, "lost leadership"), and is started again as its
# Deployment's kubelet would; traffic stays where the rollout put it throughout, and once
# the apiserver is back the rollout goes on and ends Succeeded, every step once in order,
# the plan's moves only, 0 failed requests.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/operator_lib.sh
. "$(dirname "$0")/operator_lib.sh"
opx_setup
opx_prepare TempFleet '[{weight: 50, pause: 5s}, {weight: 100}]'
opx_start_operator main
opx_fleet_up edge-primary edge
opx_load_start_recording
opx_start_rollout 2
t0=$SECONDS phase="" step="" down_done=0 down_pid=""
while [ $((SECONDS - t0)) -lt 900 ]; do
  opx_record_split
  opx_poll_rollout "$OPX_FR" "$t0"
  phase="$OPX_PHASE" step="$OPX_STEP"
  if [ $down_done = 0 ] && [ "$step" = drain-primary ]; then
    down_done=1
    opx_log "kube-apiserver down for 30 s (dev/cluster restart-apiserver --down 30)"
    "$E2E_ROOT/dev/cluster" restart-apiserver --down 30 >"$OPX_TMP/restart-apiserver.log" 2>&1 &
    down_pid=$!
  fi
  pid="${OPX_OP_PID[main]:-}"
  if [ -n "$pid" ] && ! opx_alive "$pid"; then
    rc=0
    wait "$pid" || rc=$?
    unset "OPX_OP_PID[main]"
    grep -q "lost leadership" "${OPX_OP_LOG[main]}" ||
      fail "the operator exited (status $rc) without losing its Lease: $(tail -n 3 "${OPX_OP_LOG[main]}" | cut -c1-300)"
    [ $down_done = 1 ] || fail "the operator lost its Lease before the apiserver went down"
    restarts=$((${restarts:-0} + 1))
    opx_log "the operator lost its Lease (status $rc) while the apiserver is down; restarting it (restart $restarts)"
    sleep 1
    OPX_START_NO_WAIT=1 opx_start_operator main
  fi
  if [ -n "$down_pid" ] && ! kill -0 "$down_pid" 2>/dev/null; then
    wait "$down_pid" || fail "dev/cluster restart-apiserver failed: $(tail -n 5 "$OPX_TMP/restart-apiserver.log")"
    opx_log "kube-apiserver is back: $(tail -n 1 "$OPX_TMP/restart-apiserver.log")"
    down_pid=""
  fi
  case "$phase" in Succeeded | Failed | Aborted) [ -z "$down_pid" ] && break ;; esac
  sleep 0.3
done
[ $down_done = 1 ] || fail "the rollout never reached drain-primary"
[ -z "$down_pid" ] || fail "the apiserver restart did not finish"
[ "$phase" = Succeeded ] || fail "FleetRollout $OPX_FR ended '$phase' ($(k get fr "$OPX_FR" -o jsonpath='{.status.message}'))"
for _ in 1 2 3 4 5 6; do opx_record_split; sleep 0.3; done
opx_load_finish
opx_print_rollout "$OPX_FR"
opx_check_steps "$OPX_FR" "$(opx_plan TempFleet)"
opx_check_moves "$(opx_moves TempFleet)"
ok "the apiserver down for 30 s in drain-primary: the operator stepped down and was restarted ${restarts:-0} time(s); the rollout Succeeded, 0 failed requests"
