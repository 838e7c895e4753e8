#!/usr/bin/env bash
# A broken new image with BlueGreen: the new colour's pods never start (an image the node
# does not have, imagePullPolicy Never), the progress deadline (40 s) fails the rollout,
# and traffic never leaves the known-good colour: the FleetRollout ends Failed, the fleet
# Degraded, the new colour is removed, HAProxy only ever served the old colour, and every
# request through the strict front door answered 2xx.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/operator_lib.sh
. "$(dirname "$0")/operator_lib.sh"
opx_setup
opx_prepare BlueGreen '[{weight: 50, pause: 5s}, {weight: 100}]'
opx_start_operator main
opx_fleet_up edge-blue edge-blue
k patch pf "$OPX_FLEET" --type merge -p '{"spec":{"strategy":{"progressDeadline":"40s"}}}' >/dev/null ||
  fail "could not set progressDeadline"
opx_load_start_recording
k patch pf "$OPX_FLEET" --type json -p \
  '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"localhost/ingressx/does-not-exist:v9"}]' >/dev/null ||
  fail "could not set the broken image"
opx_log "template: image localhost/ingressx/does-not-exist:v9 (not on the node)"
OPX_REV="$(opx_wait_update_revision "$OPX_REV0" 30)"
OPX_FR="$(opx_rollout_of "$OPX_REV" 30)"
t0=$SECONDS phase=""
while [ $((SECONDS - t0)) -lt 300 ]; do
  opx_record_split
  opx_poll_rollout "$OPX_FR" "$t0"
  phase="$OPX_PHASE"
  case "$phase" in Succeeded | Failed | Aborted) break ;; esac
  sleep 0.3
done
[ "$phase" = Failed ] || fail "FleetRollout $OPX_FR ended '$phase', want Failed (progress deadline)"
msg="$(k get fr "$OPX_FR" -o jsonpath='{.status.message}')"
grep -q progressDeadline <<<"$msg" || fail "the Failed rollout's message does not name the progress deadline: $msg"
opx_wait_fleet_phase Degraded 30
opx_wait_gone deploy/edge-green 90
for _ in 1 2 3 4 5 6; do opx_record_split; sleep 0.3; done
opx_load_finish
opx_print_rollout "$OPX_FR"
opx_wait_traffic_on edge-blue edge-blue 10
opx_check_moves "edge-blue=100"
ok "a broken image with BlueGreen: Failed at the progress deadline ($msg), traffic never left edge-blue, 0 failed requests"
