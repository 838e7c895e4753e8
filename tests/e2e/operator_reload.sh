#!/usr/bin/env bash
# Level-triggered traffic: the front door is restarted from its config file (every fleet
# server disabled at weight 0: the runtime weights are forgotten, as after a reload by a
# config manager) in every step of a TempFleet rollout that lasts long enough, and once
# when idle. Each time, the operator must put the split back within 2 s, no step may end
# while it is wrong, and the rollout must end Succeeded with every planned step. No load:
# a restart refuses connections while it runs, which says nothing about the operator.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/operator_lib.sh
. "$(dirname "$0")/operator_lib.sh"
opx_setup
# Drains last at least 6 s, so that a reload falls inside drain-primary and drain-temp
# (with the default 2 s a drain can end before the 1.5 s mark is seen).
OPX_MIN_DRAIN=6s
opx_prepare TempFleet '[{weight: 50, pause: 10s}, {weight: 100}]'
opx_start_operator main
opx_fleet_up edge-primary edge

split() { opx_haproxy_servers 2>/dev/null | awk '$4 > 0 && $5 == "ready" { print $1 "=" $4 }' | sort | paste -sd, -; }
declare -a rows=()
worst=0
# reload LABEL : restart HAProxy, time until the split is what it was.
reload() {
  local before now t0 dt
  before="$(split)"
  [ -n "$before" ] || fail "nothing serves before the reload in $1"
  opx_haproxy_stop
  opx_haproxy_start same
  t0=$EPOCHREALTIME
  while now="$(split)"; [ "$now" != "$before" ]; do
    dt="$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"
    awk -v d="$dt" 'BEGIN { exit !(d > 10) }' && fail "after the reload in $1 the split is [$now], not [$before], after 10 s"
    sleep 0.05
  done
  dt="$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"
  rows+=("$1: [$before] restored in ${dt} s")
  opx_log "reload in $1: [$before] restored in ${dt} s"
  awk -v d="$dt" -v w="$worst" 'BEGIN { exit !(d > w) }' && worst="$dt"
  return 0
}

opx_start_rollout 2
t0=$SECONDS
declare -A reloaded=()
phase="" step=""
while [ $((SECONDS - t0)) -lt 600 ]; do
  st="$(k get fr "$OPX_FR" -o jsonpath='{.status.phase}|{.status.currentStep}' 2>/dev/null)" || st="|"
  phase="${st%%|*}" step="${st#*|}"
  case "$phase" in Succeeded | Failed | Aborted) break ;; esac
  if [ -n "$step" ] && [ -z "${reloaded[$step]:-}" ]; then
    # 1.5 s into the step (its own move done), if it still runs.
    sleep 1.5
    now_step="$(k get fr "$OPX_FR" -o jsonpath='{.status.currentStep}' 2>/dev/null)" || now_step=""
    if [ "$now_step" = "$step" ]; then
      reloaded[$step]=1
      reload "$step"
    fi
  fi
  sleep 0.2
done
[ "$phase" = Succeeded ] || fail "FleetRollout $OPX_FR ended '$phase': $(k get fr "$OPX_FR" -o jsonpath='{.status.message}')"
opx_print_rollout "$OPX_FR"
opx_wait_traffic_on edge-primary edge 10
reload idle
printf '  %s\n' "${rows[@]}"
# The steps whose length the fleet fixes (10 s pauses, drains of 6 s or more) must each
# have had a reload; provision-temp and upgrade-primary last as long as pods take to be
# ready, and get one when they last long enough (about 4 and 6 s here).
for s in shift-to-temp/1 drain-primary shift-back/1 drain-temp; do
  [ -n "${reloaded[$s]:-}" ] || fail "no reload happened during $s"
done
# Every planned step Succeeded (promote Skipped), in order.
got="$(k get fr "$OPX_FR" -o json | python3 -c '
import json, sys
print(" ".join("%s:%s" % (s["name"], s["phase"]) for s in json.load(sys.stdin)["status"]["steps"]))')"
want="provision-temp:Succeeded shift-to-temp/1:Succeeded shift-to-temp/2:Succeeded drain-primary:Succeeded upgrade-primary:Succeeded verify-primary:Succeeded promote:Skipped shift-back/1:Succeeded shift-back/2:Succeeded drain-temp:Succeeded delete-temp:Succeeded"
[ "$got" = "$want" ] || fail "steps [$got], want [$want]"
awk -v w="$worst" 'BEGIN { exit !(w <= 2.0) }' || fail "a reload took ${worst} s to repair (want <= 2 s)"
ok "front door reloaded in ${#reloaded[@]} steps and when idle: the split was back within ${worst} s at worst; the rollout Succeeded with every step"
