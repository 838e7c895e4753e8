#!/usr/bin/env bash
# A BlueGreen rollout under load: fleet `edge` serves from edge-blue; a template change
# starts revision 2 as edge-green, shifts traffic (50%, then 100%), drains edge-blue and
# removes it after scaleDownDelay (5 s). Every request through the host's HAProxy must
# answer 2xx; afterwards all traffic is on edge-green, whose pods run the new template.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/operator_lib.sh
. "$(dirname "$0")/operator_lib.sh"
opx_setup
opx_prepare BlueGreen '[{weight: 50, pause: 5s}, {weight: 100}]'
opx_start_operator main
opx_fleet_up edge-blue edge-blue

opx_load_start_recording
opx_mark_requests main
opx_start_rollout 2
opx_watch_rollout "$OPX_FR" Succeeded 480
opx_load_finish
opx_check_plan BlueGreen "$OPX_FR"

opx_wait_traffic_on edge-green edge-green 10
opx_assert_fleet_pods edge-green 2 3 60
opx_wait_gone deploy/edge-blue 60
if k get svc edge-blue >/dev/null 2>&1; then
  opx_log "note: Service edge-blue still exists (its Deployment is gone)"
fi
opx_wait_fleet_phase Ready 30
active="$(opx_pf '{.status.activeFleet}')"
[ "$active" = edge-green ] || fail "status.activeFleet is '$active' after the rollout, want edge-green"
opx_print_rollout "$OPX_FR"
opx_figures main "$OPX_FR"
ok "BlueGreen rollout to revision $OPX_REV Succeeded in ${OPX_ROLLOUT_WALL} s under load: 0 failed requests, traffic on edge-green, edge-blue removed"
