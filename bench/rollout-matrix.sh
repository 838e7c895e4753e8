#!/usr/bin/env bash
# The zero-downtime benchmark: the same proxy upgrade (nginx.conf v1 <-> v2 of demo/) of a
# 3-pod nginx fleet under the same load through the same front door (the demo's in-cluster
# HAProxy), for
#   ingressx TempFleet  x keep-alive on/off
#   ingressx BlueGreen  x keep-alive on/off
#   a plain Deployment rolling update (no ingressx) x keep-alive on/off
# and prints, per run: requests, failures (non-2xx, transport errors), long-lived streams
# cut, requests the front door retried or that waited >= 1 s to connect, latencies, the
# wall time, and the FleetRollout's steps; as a Markdown table (OUT/results.md) and JSON
# (OUT/results.json).
#
# The load (demo/lib.sh): short requests (50 qps over 4 connections), slow 1 s requests
# (4 connections at 4 qps), long-lived 20 s requests (2 connections), from 10 s before
# the upgrade to 25 s after it. "keep-alive off": every request on a new connection.
#
# Needs: a running local cluster (dev/cluster up; INGRESSX_CLUSTER_DIR) and a build with
# ingressx-operator, kubectl-ingressx and ingressx-hook (--build-dir; its binaries are put
# into the ingressx image and imported first). The operator is installed with the chart,
# watching only the benchmark's namespace. ~15 minutes for the whole matrix.
#
# Usage: bench/rollout-matrix.sh [--build-dir DIR] [--out DIR] [--runs "RUN..."]
#                                [--namespace NS] [--short-qps N]
#   RUN: TempFleet:on TempFleet:off BlueGreen:on BlueGreen:off plain:on plain:off (default: all)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${INGRESSX_BUILD_DIR:-$ROOT/build/dev}"
OUT=""
RUNS="TempFleet:on TempFleet:off BlueGreen:on BlueGreen:off plain:on plain:off"
DEMO_NS=ingressx-bench
SHORT_QPS=50
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR="$(realpath -m "$2")"; shift ;;
    --out) OUT="$2"; shift ;;
    --runs) RUNS="$2"; shift ;;
    --namespace) DEMO_NS="$2"; shift ;;
    --short-qps) SHORT_QPS="$2"; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "rollout-matrix: unknown option $1 (--help)" >&2; exit 2 ;;
  esac
  shift
done
REL_NS="$DEMO_NS-system" REL=ingressx
OUT="${OUT:-/tmp/ingressx-rollout-matrix-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
OUT="$(realpath "$OUT")"
BEFORE_S=10 AFTER_S=25
# shellcheck source=demo/lib.sh
. "$ROOT/demo/lib.sh"

[ "$(id -u)" = 0 ] || die "needs root (the local cluster's images are imported with ctr)"
for b in operator/ingressx-operator cli/kubectl-ingressx hooks/ingressx-hook; do
  [ -x "$BUILD_DIR/$b" ] || die "no $BUILD_DIR/$b (build it, or --build-dir)"
done
"$ROOT/dev/cluster" status >/dev/null 2>&1 || die "no cluster running in ${INGRESSX_CLUSTER_DIR:-/tmp/ingressx-cluster} (dev/cluster up)"
eval "$("$ROOT/dev/cluster" env)"
export KUBECONFIG
HELM="$("$ROOT/dev/lib/build-helm.sh")/helm"
FORTIO="$("$ROOT/dev/lib/build-fortio.sh")/fortio"
mkdir -p "$OUT/bin" && ln -sfn "$BUILD_DIR/cli/kubectl-ingressx" "$OUT/bin/kubectl-ingressx"
export PATH="$OUT/bin:$PATH"
DEMO_NGINX_IMAGE="$INGRESSX_NGINX_IMAGE" DEMO_HAPROXY_IMAGE="$INGRESSX_HAPROXY_IMAGE"
DEMO_FORTIO_IMAGE="$INGRESSX_FORTIO_IMAGE"

CLEAN=0
cleanup() {
  local rc=$?
  set +e
  trap - INT TERM HUP
  load_kill_all
  if [ $CLEAN = 1 ]; then
    say "cleaning up: namespace $DEMO_NS, release $REL_NS/$REL"
    k delete pf --all --wait=true --timeout=60s >/dev/null 2>&1
    kubectl delete ns "$DEMO_NS" --wait=true --timeout=120s >/dev/null 2>&1
    "$HELM" uninstall "$REL" -n "$REL_NS" --wait --timeout 90s >/dev/null 2>&1
    kubectl delete ns "$REL_NS" --wait=true --timeout=90s >/dev/null 2>&1
  fi
  echo "results and logs: $OUT"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

say "images from $BUILD_DIR"
INGRESSX_BUILD_DIR="$BUILD_DIR" INGRESSX_HOOK_BIN="$BUILD_DIR/hooks/ingressx-hook" \
  INGRESSX_OPERATOR_BIN="$BUILD_DIR/operator/ingressx-operator" \
  INGRESSX_PLUGIN_BIN="$BUILD_DIR/cli/kubectl-ingressx" "$ROOT/dev/cluster" images >"$OUT/images.log" 2>&1 ||
  die "dev/cluster images failed: $OUT/images.log"
digest="$(ctr --address "$INGRESSX_CONTAINERD_SOCKET" -n k8s.io images ls "name==$INGRESSX_INGRESSX_IMAGE" | awk 'NR == 2 { print $3 }')"
CLEAN=1
kubectl create namespace "$DEMO_NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
"$HELM" upgrade --install "$REL" "$ROOT/helm/ingressx" -n "$REL_NS" --create-namespace \
  --set watchNamespace="$DEMO_NS" --set-string "podAnnotations.ingressx\.io/image-digest=$digest" \
  --wait --timeout 5m >"$OUT/helm.log" 2>&1 || die "helm install failed: $(tail -n 20 "$OUT/helm.log")"
say "operator installed in $REL_NS (watching $DEMO_NS)"
for f in backend.yaml nginx-config.yaml plain.yaml frontdoor.yaml; do
  render "$f" | k apply -f - >/dev/null || die "could not apply demo/$f"
done
k rollout status deploy/backend --timeout=120s >/dev/null || die "the backend did not become ready"
k rollout status deploy/frontdoor --timeout=120s >/dev/null || die "the front door did not become ready"
NODE_IP="$(kubectl get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')"
EDGE_URL="http://$NODE_IP:$(k get svc frontdoor -o jsonpath='{.spec.ports[?(@.name=="edge")].nodePort}')"
PLAIN_URL="http://$NODE_IP:$(k get svc frontdoor -o jsonpath='{.spec.ports[?(@.name=="plain")].nodePort}')"
ADMIN_IP="$(k get svc frontdoor-admin -o jsonpath='{.spec.clusterIP}')"

# config_patch N : a pod template patch selecting nginx.conf vN (1 or 2) for the fleet
# (kubectl ingressx rollout start -f) and, as a Deployment patch, for plain.
config_cm() { [ "$1" = 2 ] && echo edge-nginx-v2 || echo edge-nginx; }
fleet_patch() {
  printf 'metadata:\n  annotations: {bench.ingressx.io/config: v%s}\nspec:\n  volumes:\n  - name: conf\n    configMap: {name: %s}\n' \
    "$1" "$(config_cm "$1")" >"$OUT/fleet-v$1.yaml"
  echo "$OUT/fleet-v$1.yaml"
}
plain_patch() {
  printf '{"spec":{"template":{"metadata":{"annotations":{"bench.ingressx.io/config":"v%s"}},"spec":{"volumes":[{"name":"conf","configMap":{"name":"%s"}}]}}}}' \
    "$1" "$(config_cm "$1")"
}

# frontdoor_reset : every server of backend edge back to its placeholder (no address, weight
# 0, maintenance). A deleted ProxyFleet leaves the servers the operator set pointing at
# its deleted Services' ClusterIPs, with their weights; a ClusterIP is soon given to some
# other Service (10.0.0.0/24 here), which then gets the front door's traffic.
frontdoor_reset() {
  local srv
  for srv in edge-primary edge-temp edge-blue edge-green; do
    if ! { runtime_api "set server edge/$srv state maint" && runtime_api "set server edge/$srv weight 0" &&
      runtime_api "set server edge/$srv addr 127.0.0.1 port 9"; } >/dev/null; then
      die "runtime API: could not reset $srv"
    fi
  done
}
# fleet_delete : deletes ProxyFleet edge (and waits for its Deployments to go).
fleet_delete() {
  k get pf edge >/dev/null 2>&1 || return 0
  k delete pf edge --wait=true --timeout=120s >/dev/null || die "could not delete ProxyFleet edge"
  for _ in $(seq 1 60); do k get deploy -l ingressx.io/fleet -o name 2>/dev/null | grep -q . || break; sleep 1; done
  frontdoor_reset
  FLEET_STRATEGY=""
}
# fleet_up STRATEGY : (re)creates ProxyFleet edge with that strategy; waits until Ready.
FLEET_STRATEGY="" FLEET_CONF=1
fleet_up() {
  [ "$FLEET_STRATEGY" = "$1" ] && return 0
  fleet_delete
  case "$1" in
    TempFleet) render fleet.yaml ;;
    BlueGreen) render fleet.yaml | sed -e 's/servers: {primary: edge-primary, temp: edge-temp}/servers: {blue: edge-blue, green: edge-green}/' \
      -e 's/strategy: {type: TempFleet}/strategy: {type: BlueGreen, scaleDownDelay: 5s}/' ;;
  esac >"$OUT/fleet-$1.yaml"
  k apply -f "$OUT/fleet-$1.yaml" >/dev/null || die "could not apply the $1 ProxyFleet"
  k wait --for=jsonpath='{.status.phase}'=Ready pf/edge --timeout=240s >/dev/null ||
    die "ProxyFleet edge ($1) is not Ready after 240 s: $(k get pf edge -o jsonpath='{.status.message}')"
  header X-Edge-Config "$EDGE_URL/" >/dev/null || die "no answer through the front door"
  FLEET_STRATEGY="$1" FLEET_CONF=1
  say "ProxyFleet edge ($1) Ready: $(weights)"
}

RESULTS=() LABELS=()
PLAIN_CONF=1
for run in $RUNS; do
  what="${run%%:*}" ka="${run#*:}"
  name="$what-ka-$ka"
  case "$what" in
    TempFleet | BlueGreen)
      fleet_up "$what"
      next=$((3 - FLEET_CONF))
      say "=== $name: kubectl ingressx rollout start edge (nginx.conf v$FLEET_CONF -> v$next)"
      load_start "$name" "$EDGE_URL" "$ka"
      sleep $BEFORE_S
      t=$SECONDS rc=0
      kubectl ingressx -n "$DEMO_NS" rollout start edge -f "$(fleet_patch "$next")" --wait --timeout 10m \
        >"$OUT/rollout-$name.log" 2>&1 || rc=$?
      wall=$((SECONDS - t))
      sleep $AFTER_S
      load_stop
      [ $rc = 0 ] || die "$name: kubectl ingressx exited $rc: $(tail -n 5 "$OUT/rollout-$name.log")"
      FLEET_CONF=$next
      k get fr "$(k get pf edge -o jsonpath='{.status.currentRollout}')" -o json >"$OUT/fr-$name.json"
      python3 "$ROOT/demo/summary.py" phase "$OUT" "$name" edge "$wall" "$OUT/fr-$name.json" >"$OUT/run-$name.json" ;;
    plain)
      if [ "$(k get deploy plain -o jsonpath='{.spec.replicas}')" != 3 ]; then
        fleet_delete
        k scale deploy/plain --replicas=3 >/dev/null
        k rollout status deploy/plain --timeout=120s >/dev/null || die "Deployment plain did not become ready"
        header X-Edge-Config "$PLAIN_URL/" >/dev/null || die "no answer through the front door (plain)"
      fi
      next=$((3 - PLAIN_CONF))
      say "=== $name: rolling update of Deployment plain (nginx.conf v$PLAIN_CONF -> v$next)"
      load_start "$name" "$PLAIN_URL" "$ka"
      sleep $BEFORE_S
      t=$SECONDS
      k patch deploy/plain --type strategic -p "$(plain_patch "$next")" >/dev/null
      k rollout status deploy/plain --timeout=300s >"$OUT/rollout-$name.log" 2>&1 || die "$name: the rolling update did not finish"
      wall=$((SECONDS - t))
      sleep $AFTER_S
      load_stop
      PLAIN_CONF=$next
      python3 "$ROOT/demo/summary.py" phase "$OUT" "$name" plain "$wall" >"$OUT/run-$name.json" ;;
    *) die "unknown run $run (TempFleet|BlueGreen|plain):(on|off)" ;;
  esac
  RESULTS+=("$OUT/run-$name.json")
  case "$what" in plain) l="plain rolling" ;; *) l="$what" ;; esac
  LABELS+=("$l, ka $ka")
  say "$name: $(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); t = r["total"]; print("%d requests, %d non-2xx, %d transport errors, wall %gs" % (t["requests"], t["non2xx"], t["errors"], r["wall_seconds"]))' "$OUT/run-$name.json")"
done

python3 -c 'import json, sys; json.dump([json.load(open(f)) for f in sys.argv[1:]], sys.stdout, indent=2)' "${RESULTS[@]}" >"$OUT/results.json"
{
  echo "# ingressx rollout matrix ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, short load $SHORT_QPS qps)"
  echo
  python3 "$ROOT/demo/summary.py" table "$OUT" "$OUT/results.json" "${LABELS[@]}"
} | tee "$OUT/results.md"
echo
echo "JSON: $OUT/results.json"
