#!/usr/bin/env bash
# The rollout protocol under faults (docs/architecture.md, "The rollout protocol"): one
# rollout of the e2e nginx fleet under load, behind the strict front door (HAProxy,
# retries 0), with failpoints (core/include/ingressx/core/failpoint.h) firing at the
# operator's API and provider writes.
#
#   operator_faults.sh STRATEGY MODE
#     STRATEGY  TempFleet | BlueGreen
#     MODE      crash : every failpoint of the set is armed to crash (_exit at once) at its
#                       first hit; the operator dies at the first write that hits one, a
#                       new operator is started with the ones that have not fired, and so
#                       on, until each has fired once (so every write kind gets a crash
#                       just before and just after it, wherever in the rollout it comes)
#               error : one operator with a failpoint per write kind armed to fail its call
#                       once (the call itself is made by an "after" point: a write whose
#                       answer was lost)
#   OPX_FAULTS="NAME=ACTION@K ..." replaces the sequence (crash) or the set (error).
#
# Passes when the rollout ends Succeeded, every failpoint of the sequence fired, every
# planned step is in the FleetRollout in order and Succeeded (promote Skipped: automatic
# promotion), the splits seen on HAProxy are exactly the plan's moves (none missing,
# none repeated, nothing in between), and every request answered 2xx with no retry.
# Prints one table row per failpoint: failpoint, action, step it fired in, result,
# requests, failed. tests/e2e/fault-matrix.sh runs every STRATEGY x MODE.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/operator_lib.sh
. "$(dirname "$0")/operator_lib.sh"

strategy="${1:-TempFleet}"
mode="${2:-crash}"
case "$strategy" in TempFleet | BlueGreen) ;; *) fail "unknown strategy $strategy (TempFleet, BlueGreen)" ;; esac
case "$mode" in crash | error) ;; *) fail "unknown mode $mode (crash, error)" ;; esac

crash_default="rollout-create.before rollout-create.after rollout-status.before
  rollout-status.after fleet-status.before fleet-status.after fleet-apply.before
  fleet-apply.after traffic.before traffic.after fleet-delete.before fleet-delete.after"
plan="$(opx_plan "$strategy")"
moves="$(opx_moves "$strategy")"
error_default="rollout-create.after=error@1 rollout-status.before=error@1
  rollout-status.after=error@3 fleet-status.before=error@2 fleet-status.after=error@4
  fleet-apply.before=error@1 fleet-apply.after=error@1 traffic.before=error@1
  traffic.after=error@2 fleet-delete.before=error@1 fleet-delete.after=error@1"
# shellcheck disable=SC2086 # word splitting wanted
if [ "$mode" = crash ]; then read -r -a faults <<<"$(echo ${OPX_FAULTS:-$crash_default})"
else read -r -a faults <<<"$(echo ${OPX_FAULTS:-$error_default})"; fi

opx_setup
opx_prepare "$strategy" '[{weight: 50, pause: 5s}, {weight: 100}]'
# No leader election: a crashed operator's successor starts at once (the Lease and its
# fencing have their own test, operator_leader.sh).
OP_ARGS=(--leader-elect=false)
opx_start_operator main "${OP_ARGS[@]}"
if [ "$strategy" = TempFleet ]; then opx_fleet_up edge-primary edge; else opx_fleet_up edge-blue edge-blue; fi
opx_stop_operator main TERM

# Crash: the failpoints that have not fired yet, all armed; errors: all, with their @K.
declare -A fired_at=()
start_next() {
  local spec="" f
  for f in "${faults[@]}"; do
    if [ "$mode" = crash ]; then
      [ -n "${fired_at[$f]:-}" ] || spec="$spec;$f=crash@1"
    else
      spec="$spec;$f"
    fi
  done
  spec="${spec#;}"
  opx_log "operator start $((OPX_OP_SEQ + 1)) with INGRESSX_FAILPOINTS='$spec'"
  INGRESSX_FAILPOINTS="$spec" OPX_START_NO_WAIT=1 opx_start_operator main "${OP_ARGS[@]}"
}

opx_load_start_recording
rev=$((OPX_REV0 + 1))
FR="$OPX_FLEET-r$rev"
start_next
opx_change_template 2
t0=$SECONDS
phase="" step=""
while :; do
  [ $((SECONDS - t0)) -lt 900 ] || fail "FleetRollout $FR not finished after 900 s (phase '$phase', step '$step')"
  pid="${OPX_OP_PID[main]:-}"
  if [ -n "$pid" ] && ! opx_alive "$pid"; then
    rc=0
    wait "$pid" || rc=$?
    unset "OPX_OP_PID[main]"
    [ "$mode" = crash ] || fail "the operator exited (status $rc) with only error failpoints armed; log ${OPX_OP_LOG[main]}"
    [ $rc = 86 ] || fail "the operator exited with status $rc, not 86 (a failpoint crash); log tail: $(tail -n 5 "${OPX_OP_LOG[main]}" | cut -c1-300)"
    which="$(sed -n 's/.*"msg":"failpoint \([a-z.-]*\): crash".*/\1/p' "${OPX_OP_LOG[main]}" | tail -n 1)"
    [ -n "$which" ] || fail "the operator exited 86 but its log names no failpoint crash"
    fired_at[$which]="${step:-before the record}"
    opx_log "failpoint $which fired during step '${step:--}': the operator is gone; a new one starts"
    start_next
  fi
  opx_record_split
  opx_poll_rollout "$FR" "$t0"
  phase="$OPX_PHASE" step="$OPX_STEP"
  case "$phase" in Succeeded | Failed | Aborted) break ;; esac
  sleep 0.3
done
wall=$((SECONDS - t0))
[ "$phase" = Succeeded ] || fail "FleetRollout $FR ended $phase: $(k get fr "$FR" -o jsonpath='{.status.message}')"
# The fleet settles (idle): the last splits are recorded.
for _ in 1 2 3 4 5 6; do opx_record_split; sleep 0.3; done
opx_load_finish
opx_print_rollout "$FR"

# Every failpoint of the set fired.
for f in "${faults[@]}"; do
  if [ "$mode" = error ]; then
    grep -q "failpoint ${f%%=*}: error" "${OPX_OP_LOG[main]}" && fired_at[$f]="(see log)"
  fi
  [ -n "${fired_at[$f]:-}" ] || fail "failpoint $f never fired before the rollout ended; the run does not test it"
done

opx_check_steps "$FR" "$plan"
opx_check_moves "$moves"

requests="$(python3 - "$OPX_TMP" "${OPX_LOADS[@]}" <<'PY'
import json, os, sys
print(sum(json.load(open(os.path.join(sys.argv[1], "load-%s.json" % n)))["DurationHistogram"]["Count"] for n in sys.argv[2:]))
PY
)"
echo "fault table ($strategy, $mode; $requests requests, 0 failed, rollout ${wall} s):"
printf '| %-22s | %-8s | %-20s | %-9s | %8s | %6s |\n' failpoint action "fired in step" result requests failed
for f in "${faults[@]}"; do
  action="${f#*=}"
  [ "$mode" = crash ] && action=crash@1
  printf '| %-22s | %-8s | %-20s | %-9s | %8s | %6s |\n' "${f%%=*}" "$action" "${fired_at[$f]}" Succeeded "$requests" 0
done
ok "$strategy rollout with ${#faults[@]} $mode failpoints: Succeeded in ${wall} s, every step once, the plan's moves only, 0 failed of $requests requests"
