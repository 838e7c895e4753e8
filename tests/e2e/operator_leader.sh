#!/usr/bin/env bash
# Leader election: two operators with the same Lease (ingressx-operator in the test
# namespace). One holds the Lease and acts; the other reports leader_election_master_status
# 0 and reconciles nothing. SIGKILL the leader: the other takes the Lease within its
# duration (15 s) plus a retry period, and a rollout started after that succeeds under
# load with every request answering 2xx.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/operator_lib.sh
. "$(dirname "$0")/operator_lib.sh"
LEASE=ingressx-operator
opx_setup
opx_prepare TempFleet '[{weight: 50, pause: 5s}, {weight: 100}]'
opx_start_operator a --leader-election-id "$LEASE"
opx_start_operator b --leader-election-id "$LEASE"

master() { opx_operator_metric "$1" '^leader_election_master_status'; }
reconciles() { opx_operator_metric "$1" '^controller_runtime_reconcile_total'; }
holder() { k get lease "$LEASE" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true; }

leader="" follower=""
for _ in $(seq 1 150); do
  ma="$(master a)" mb="$(master b)"
  if [ -n "$(holder)" ]; then
    [ "$ma" = 1 ] && [ "$mb" = 0 ] && { leader=a follower=b; break; }
    [ "$mb" = 1 ] && [ "$ma" = 0 ] && { leader=b follower=a; break; }
  fi
  sleep 0.2
done
[ -n "$leader" ] || fail "no single leader after 30 s: Lease holder '$(holder)', leader_election_master_status a='$ma' b='$mb' (want one 1, one 0)"
h="$(holder)"
opx_log "Lease $LEASE held by '$h' (duration $(k get lease "$LEASE" -o jsonpath='{.spec.leaseDurationSeconds}') s); leader: operator $leader (pid ${OPX_OP_PID[$leader]}), follower: $follower"
if grep -qF -- "$h" "${OPX_OP_LOG[$follower]}" && ! grep -qF -- "$h" "${OPX_OP_LOG[$leader]}"; then
  fail "the Lease holder '$h' is named in the follower's log, not the leader's"
fi
grep -qF -- "$h" "${OPX_OP_LOG[$leader]}" && ok "the Lease holder '$h' is operator $leader (named in its log)"

opx_fleet_up edge-primary edge
r="$(reconciles "$follower")"
[ "${r:-0}" = 0 ] || fail "the follower ($follower) reconciled $r times while not leading"
[ "$(master "$follower")" = 0 ] || fail "the follower's leader_election_master_status is not 0"
ok "the follower ($follower) does not act: leader_election_master_status 0, 0 reconciles; the leader made the fleet Ready ($(reconciles "$leader") reconciles)"

t0="$(uptime_s)"
opx_log "SIGKILL the leader $leader (pid ${OPX_OP_PID[$leader]})"
opx_stop_operator "$leader" KILL
took=""
for _ in $(seq 1 200); do
  if [ "$(master "$follower")" = 1 ] && [ -n "$(holder)" ] && [ "$(holder)" != "$h" ]; then
    took="$(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }')"
    break
  fi
  sleep 0.2
done
[ -n "$took" ] || fail "operator $follower did not take the Lease within 40 s of the leader's SIGKILL (holder '$(holder)', master status '$(master "$follower")')"
opx_log "operator $follower holds the Lease ('$(holder)') ${took} s after the leader's SIGKILL"
awk -v t="$took" 'BEGIN { exit !(t <= 25) }' || fail "hand-over took $took s, more than the lease duration 15 s + retry (limit 25 s)"
ok "hand-over in $took s (lease duration 15 s, retry period 2 s)"

opx_load_start_recording
opx_start_rollout 2
opx_watch_rollout "$OPX_FR" Succeeded 480
opx_load_finish
opx_check_plan TempFleet "$OPX_FR"
opx_wait_gone deploy/edge-temp 60
opx_assert_fleet_pods edge 2 3 90
opx_wait_traffic_on edge-primary edge 10
opx_print_rollout "$OPX_FR"
ok "after the hand-over, operator $follower rolled out revision $OPX_REV in ${OPX_ROLLOUT_WALL} s: 0 failed requests"
