#!/usr/bin/env bash
# The gateway-api cutover provider on the real cluster: the Gateway API CRDs (standard
# channel and the experimental TCPRoute, dev/lib/gateway-api-crds.sh) are installed, an
# HTTPRoute `edge` and a TCPRoute `edge-tls` send to the fleet Services, and a TempFleet
# rollout (50% then 100% to edge-temp, upgrade edge, back) moves traffic by both routes'
# backendRef weights. A raw watch on each route records every version of its weights; the
# test asserts that each route walks exactly the rollout's steps (100/0, 50/50, 0/100,
# 50/50, 100/0), that each change falls inside the step that made it, and that each shift
# step's recorded traffic is what the route said. (No Gateway implementation runs: the
# route objects are what is tested.)
# shellcheck disable=SC2034,SC2016 # OPX_* are read by opx_render; kubectl expands $1
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/operator_lib.sh
. "$(dirname "$0")/operator_lib.sh"
opx_setup
WATCH_PID=""
trap 'rc=$?; [ -n "$WATCH_PID" ] && kill $WATCH_PID 2>/dev/null; (exit $rc); opx_cleanup' EXIT

crds="$("$E2E_ROOT/dev/lib/gateway-api-crds.sh")" || fail "could not fetch the Gateway API CRDs (dev/lib/gateway-api-crds.sh)"
kubectl apply --server-side --force-conflicts -f "$crds" >/dev/null || fail "could not install the Gateway API CRDs from $crds"
kubectl wait --for condition=established --timeout=30s crd/httproutes.gateway.networking.k8s.io \
  crd/tcproutes.gateway.networking.k8s.io >/dev/null ||
  fail "the HTTPRoute and TCPRoute CRDs are not established after 30 s"
opx_log "Gateway API CRDs installed from $crds"

k apply -f - >/dev/null <<'YAML' || fail "could not create the HTTPRoute edge"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: edge
spec:
  parentRefs: [{name: public}]
  hostnames: [edge.example.test]
  rules:
  - backendRefs:
    - {name: edge, port: 80, weight: 100}
    - {name: edge-temp, port: 80, weight: 0}
YAML
k apply -f - >/dev/null <<'YAML' || fail "could not create the TCPRoute edge-tls"
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata:
  name: edge-tls
spec:
  parentRefs: [{name: public, sectionName: tls-passthrough}]
  rules:
  - backendRefs:
    - {name: edge, port: 80, weight: 100}
    - {name: edge-temp, port: 80, weight: 0}
YAML

opx_backend
opx_nginx_configmap
OPX_CUTOVER_TYPE=weight
OPX_CUTOVER_BLOCK='{provider: gateway-api, gatewayAPI: {httpRouteRef: {name: edge}, tcpRouteRef: {name: edge-tls}}}'
opx_render_fleet TempFleet '[{weight: 50, pause: 3s}, {weight: 100}]'
opx_dry_run_fleet

# Every version of a route's weights, with the time it was seen: a raw watch of the
# object (kubectl get --watch -o jsonpath printed only the first version of this CRD),
# opened again whenever the apiserver ends it (it does when a CRD is updated).
# Usage: watch_route <api path of the route collection> <name> <log>
watch_route() {
  setpriv --pdeathsig KILL -- bash -c 'while :; do kubectl get --raw "$1"; sleep 0.1; done' _ \
    "$1?watch=1&fieldSelector=metadata.name%3D$2" \
    2>>"$OPX_TMP/watch.err" | python3 -u -c '
import sys, json, datetime
for line in sys.stdin:
    ev = json.loads(line)
    spec = ev.get("object", {}).get("spec")
    if not spec:
        print("watch event %s: %s" % (ev.get("type"), ev.get("object", {}).get("message", "")), file=sys.stderr)
        continue
    refs = spec["rules"][0]["backendRefs"]
    print(datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
          " ".join("%s=%s" % (r["name"], r.get("weight", 1)) for r in refs), flush=True)
' >"$3" 2>>"$OPX_TMP/watch.err" &
  WATCH_PID="$WATCH_PID $!"
}
watch_route "/apis/gateway.networking.k8s.io/v1/namespaces/$NS/httproutes" edge "$OPX_TMP/route-weights.log"
watch_route "/apis/gateway.networking.k8s.io/v1alpha2/namespaces/$NS/tcproutes" edge-tls "$OPX_TMP/tcproute-weights.log"

opx_start_operator main
opx_apply_fleet
opx_wait_fleet_phase Ready 180
opx_assert_fleet_pods edge 1 3 60
OPX_REV0="$(opx_pf '{.status.currentRevision}')"
opx_log "fleet Ready at revision $OPX_REV0: $(opx_pf '{.status.trafficSummary}')"
n0="$(wc -l <"$OPX_TMP/route-weights.log")"
t0="$(wc -l <"$OPX_TMP/tcproute-weights.log")"

opx_start_rollout 2
opx_watch_rollout "$OPX_FR" Succeeded 480
sleep 2
opx_print_rollout "$OPX_FR"
opx_wait_gone deploy/edge-temp 60

k get fr "$OPX_FR" -o json >"$OPX_TMP/fr.json"
# Usage: check_route <kind> <weights log> <lines before the rollout>
check_route() {
  echo "$1 weights seen during the rollout:"
  tail -n +"$(($3 + 1))" "$2" | sed 's/^/    /'
  tail -n +"$(($3 + 1))" "$2" | python3 -c '
import json, sys
from datetime import datetime
def t(s): return datetime.fromisoformat(s.replace("Z", "+00:00"))
fr = json.load(open(sys.argv[1]))
steps = fr["status"]["steps"]
seen = []  # (time, (edge, edge-temp)) at each change
for line in sys.stdin:
    ts, *refs = line.split()
    w = dict(r.split("=", 1) for r in refs)
    pair = (int(w.get("edge") or 0), int(w.get("edge-temp") or 0))
    if not seen or seen[-1][1] != pair:
        seen.append((t(ts), pair))
pairs = [p for _, p in seen]
want = [(50, 50), (0, 100), (50, 50), (100, 0)]
if pairs and pairs[0] == (100, 0):
    pairs, seen = pairs[1:], seen[1:]
if pairs != want:
    sys.exit("FAIL: the %s weights walked %s, want %s (the rollout steps)" % (sys.argv[2], pairs, want))
shift = [s for s in steps if s["name"].startswith("shift-")]
if len(shift) != 4:
    sys.exit("FAIL: %d shift steps in the FleetRollout, want 4: %s" % (len(shift), [s["name"] for s in steps]))
for (when, pair), s in zip(seen, shift):
    a, b = t(s["startedAt"]), t(s["finishedAt"])
    # status times have 1 s resolution: allow 1 s either side
    if not ((a - when).total_seconds() <= 1.0 and (when - b).total_seconds() <= 1.0):
        sys.exit("FAIL: weights %s seen at %s, outside step %s (%s .. %s)" % (pair, when, s["name"], a, b))
    rec = {x["fleet"]: x["weight"] for x in s.get("traffic", [])}
    got = (rec.get("edge", 0), rec.get("edge-temp", 0))
    if got != pair:
        sys.exit("FAIL: step %s recorded traffic %s, the %s had %s" % (s["name"], got, sys.argv[2], pair))
    print("  %-18s route edge=%d edge-temp=%d at %s (step %s .. %s)" % (s["name"], pair[0], pair[1],
          when.strftime("%H:%M:%S.%f")[:-3], a.strftime("%H:%M:%S"), b.strftime("%H:%M:%S")))
' "$OPX_TMP/fr.json" "$1" || fail "the $1 weights did not follow the rollout steps (above)"
}
check_route HTTPRoute "$OPX_TMP/route-weights.log" "$n0"
check_route TCPRoute "$OPX_TMP/tcproute-weights.log" "$t0"

final="$(k get httproute edge -o jsonpath='{range .spec.rules[0].backendRefs[*]}{.name}={.weight} {end}')"
case "$final" in *"edge=100 "*) ;; *) fail "after the rollout the route is '$final', want edge=100" ;; esac
final_tcp="$(k get tcproute edge-tls -o jsonpath='{range .spec.rules[0].backendRefs[*]}{.name}={.weight} {end}')"
case "$final_tcp" in *"edge=100 "*) ;; *) fail "after the rollout the TCPRoute is '$final_tcp', want edge=100" ;; esac
[ "$(opx_pf '{.status.currentRevision}')" = "$OPX_REV" ] || fail "status.currentRevision is not $OPX_REV after the rollout"
opx_wait_fleet_phase Ready 30
ok "gateway-api: the HTTPRoute's and the TCPRoute's weights followed the TempFleet rollout's steps (50/50, 0/100, 50/50, 100/0); revision $OPX_REV serves from edge, routes '$final' and '$final_tcp'"
