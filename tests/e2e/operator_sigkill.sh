#!/usr/bin/env bash
# Crash-resume under load: during a TempFleet rollout, every time the FleetRollout's
# currentStep changes the operator gets SIGKILL after a random 0-1.5 s and a new one is
# started (it takes the Lease over once the old holder's expires). The rollout must still
# end Succeeded with every request through the host's HAProxy answering 2xx.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/operator_lib.sh
. "$(dirname "$0")/operator_lib.sh"
opx_setup
opx_prepare TempFleet '[{weight: 50, pause: 5s}, {weight: 100}]'
opx_start_operator main
opx_fleet_up edge-primary edge

declare -A kills=()
kill_order=()
last_step=""
kill_on_step() {
  local step="$1" ms pid
  [ "$step" != "$last_step" ] || return 0
  last_step="$step"
  ms="$(opx_random_sleep 1500)"
  pid="${OPX_OP_PID[main]}"
  opx_log "SIGKILL operator pid $pid ${ms} ms into step $step"
  opx_stop_operator main KILL
  kills[$step]=$((${kills[$step]:-0} + 1))
  kill_order+=("$step")
  opx_start_operator main
}

opx_load_start_recording
opx_start_rollout 2
opx_watch_rollout "$OPX_FR" Succeeded 900 kill_on_step
opx_load_finish
opx_check_plan TempFleet "$OPX_FR"

opx_wait_gone deploy/edge-temp 60
opx_wait_gone svc/edge-temp 30
opx_assert_fleet_pods edge 2 3 90
opx_wait_traffic_on edge-primary edge 10
opx_print_rollout "$OPX_FR"
echo "kills per step:"
for s in "${kill_order[@]}"; do echo "  $s: ${kills[$s]}"; done
[ ${#kill_order[@]} -ge 3 ] || fail "only ${#kill_order[@]} operator kills happened during the rollout; the test means nothing with fewer than 3"
ok "${#kill_order[@]} SIGKILLs of the operator during the rollout: Succeeded in ${OPX_ROLLOUT_WALL} s, 0 failed requests"
