#!/usr/bin/env bash
# A TempFleet rollout under load: the operator (on the host) brings up fleet `edge`
# behind the host's HAProxy; a template change rolls out revision 2 through a temp fleet
# (50% then 100% to edge-temp, upgrade edge, shift back, delete edge-temp) while fortio
# sends short, slow and long-lived requests through HAProxy. Every request must answer
# 2xx; afterwards edge-temp is gone, edge's pods all run the new template and all
# traffic is back on edge.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/operator_lib.sh
. "$(dirname "$0")/operator_lib.sh"
opx_setup
opx_prepare TempFleet '[{weight: 50, pause: 5s}, {weight: 100}]'
opx_start_operator main
opx_fleet_up edge-primary edge

opx_load_start_recording
opx_mark_requests main
opx_start_rollout 2
opx_watch_rollout "$OPX_FR" Succeeded 480
opx_load_finish
opx_check_plan TempFleet "$OPX_FR"

opx_wait_gone deploy/edge-temp 60
opx_wait_gone svc/edge-temp 30
opx_assert_fleet_pods edge 2 3 90
opx_wait_traffic_on edge-primary edge 10
opx_wait_fleet_phase Ready 30
cur="$(opx_pf '{.status.currentRevision}')"
[ "$cur" = "$OPX_REV" ] || fail "status.currentRevision is $cur after the rollout, want $OPX_REV"
opx_print_rollout "$OPX_FR"
opx_figures main "$OPX_FR"
ok "TempFleet rollout to revision $OPX_REV Succeeded in ${OPX_ROLLOUT_WALL} s under load: 0 failed requests, edge-temp gone, edge at the new template"
