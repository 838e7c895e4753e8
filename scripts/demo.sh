#!/usr/bin/env bash
# The ingressx demo, from a fresh Debian 12 machine (root) in one command:
#
#   scripts/demo.sh
#
# 1. set-up: scripts/setup.sh --cluster (Debian packages; Kubernetes built from the Go
#    module proxy, cached);
# 2. build: a release build of ingressx-operator, kubectl-ingressx and ingressx-hook into
#    build/demo;
# 3. the local single-node cluster: dev/cluster up (reused when it runs), and the images
#    (dev/cluster images: the ingressx image with the operator, the plugin and the hook);
# 4. the Helm chart helm/ingressx (Helm built from the Go module proxy): the operator,
#    2 replicas with leader election, in namespace ingressx-system;
# 5. namespace ingressx-demo: a fortio backend, an HAProxy front door (in the cluster;
#    runtime API on TCP 9999 for the operator), the ProxyFleet `edge` (3 nginx pods);
# 6. load from this host through the front door (short keep-alive requests, slow 1 s
#    requests, long-lived 20 s requests; fortio) and, under it,
#    `kubectl ingressx rollout start edge --image nginx=localhost/ingressx/nginx:v2 --wait`:
#    the upgrade (a new proxy image, nginx:dev -> nginx:v2) through a temporary fleet,
#    progress on screen; load stopped;
# 7. the usual upgrade, `kubectl set image deploy/plain nginx=localhost/ingressx/nginx:v2`,
#    of the same nginx pods as a plain Deployment (a rolling update, no hook, no
#    ingressx), under the same load; then both summaries side by side.
#
# At the end it deletes what it made (the demo namespace, the release and its namespace;
# not the CRDs) and leaves the cluster up; --keep leaves everything; dev/cluster down takes
# the cluster down. Details: docs/demo.md.
#
# Usage: scripts/demo.sh [options]
#   --build-dir DIR    build tree (default build/demo; configured as a Release build,
#                      tests off, when it has no CMakeCache.txt)
#   --no-setup         skip scripts/setup.sh --cluster
#   --no-build         use the binaries in the build tree as they are
#   --no-baseline      skip step 7
#   --keep             leave the demo namespace and the release installed
#   --namespace NS     demo namespace (default ingressx-demo)
#   --out DIR          results (load JSON, logs, summary.md, summary.json);
#                      default /tmp/ingressx-demo-<time>
#   --release-namespace NS  namespace of the operator's release (default ingressx-system)
#   --short-qps N      rate of the short requests (default 50, over 4 connections)
#   --check            exit 1 unless every request of the ingressx upgrade answered 2xx
#                      (the e2e test tests/e2e/helm_demo.sh runs the demo so)
# Environment: INGRESSX_CLUSTER_DIR (the cluster, default /tmp/ingressx-cluster).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

BUILD_DIR="$ROOT/build/demo"
DO_SETUP=1 DO_BUILD=1 DO_BASELINE=1 KEEP=0
DEMO_NS=ingressx-demo
REL_NS=ingressx-system
REL=ingressx
OUT=""
SHORT_QPS=50
CHECK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR="$(realpath -m "$2")"; shift ;;
    --no-setup) DO_SETUP=0 ;;
    --no-build) DO_BUILD=0 ;;
    --no-baseline) DO_BASELINE=0 ;;
    --keep) KEEP=1 ;;
    --namespace) DEMO_NS="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    --release-namespace) REL_NS="$2"; shift ;;
    --short-qps) SHORT_QPS="$2"; shift ;;
    --check) CHECK=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown option $1 (--help)" >&2; exit 2 ;;
  esac
  shift
done
OUT="${OUT:-/tmp/ingressx-demo-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
OUT="$(realpath "$OUT")"

# ---------------------------------------------------------------- output helpers
if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'; else B="" G="" R="" N=""; fi
T0=$SECONDS
STEP=0
step() { STEP=$((STEP + 1)); printf '\n%s==> [%d/7] %s%s   (+%ds)\n' "$B" "$STEP" "$*" "$N" $((SECONDS - T0)); }
# say, die, k, render, runtime_api, weights, header, load_start, load_stop
# shellcheck source=demo/lib.sh
. "$ROOT/demo/lib.sh"

[ "$(uname -s)" = Linux ] || die "the demo needs Linux (a local Kubernetes node)"
[ "$(id -u)" = 0 ] || die "the demo needs root (containerd, kubelet, iptables): sudo $0"

# ---------------------------------------------------------------- cleanup
cleanup() {
  local rc=$?
  set +e
  trap - INT TERM HUP
  load_kill_all
  if [ -n "${KUBECONFIG:-}" ] && [ "${CLEAN_CLUSTER_OBJECTS:-0}" = 1 ]; then
    if [ $KEEP = 1 ]; then
      printf '\nLeft running (--keep): namespace %s (front door, fleet, backend) and release %s/%s.\n' "$DEMO_NS" "$REL_NS" "$REL"
      printf '  kubectl -n %s get pf,fr,deploy,svc\n  kubectl ingressx -n %s rollout get edge\n' "$DEMO_NS" "$DEMO_NS"
      printf '  remove: kubectl delete ns %s; %s uninstall %s -n %s; kubectl delete ns %s\n' \
        "$DEMO_NS" "${HELM:-helm}" "$REL" "$REL_NS" "$REL_NS"
    else
      say "cleaning up: namespace $DEMO_NS, release $REL_NS/$REL"
      # The fleet first, while the operator runs (it removes its finalizer).
      kubectl -n "$DEMO_NS" delete pf --all --wait=true --timeout=60s >/dev/null 2>&1
      kubectl delete ns "$DEMO_NS" --wait=true --timeout=120s >/dev/null 2>&1 ||
        echo "warning: namespace $DEMO_NS not deleted within 120 s" >&2
      "$HELM" uninstall "$REL" -n "$REL_NS" --wait --timeout 90s >/dev/null 2>&1
      kubectl delete ns "$REL_NS" --wait=true --timeout=90s >/dev/null 2>&1
    fi
  fi
  if [ -n "${KUBECONFIG:-}" ]; then
    printf '\nThe cluster (%s) stays up. Take it down with:\n  INGRESSX_CLUSTER_DIR=%s %s/dev/cluster down\n' \
      "${INGRESSX_CLUSTER_DIR:-}" "${INGRESSX_CLUSTER_DIR:-}" "$ROOT"
  fi
  printf 'Results and logs: %s\n' "$OUT"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# ---------------------------------------------------------------- 1-3: set-up, build, cluster
step "set-up: Debian packages, Kubernetes node components (scripts/setup.sh --cluster)"
if [ $DO_SETUP = 1 ]; then
  "$ROOT/scripts/setup.sh" --cluster
else
  say "skipped (--no-setup)"
fi

step "build: ingressx-operator, kubectl-ingressx, ingressx-hook into $BUILD_DIR"
if [ $DO_BUILD = 1 ]; then
  if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DINGRESSX_BUILD_TESTS=OFF -DINGRESSX_FAILPOINTS=OFF \
      -DINGRESSX_BUILD_BENCH=OFF -DINGRESSX_BUILD_INTEGRATION=OFF >"$OUT/cmake-configure.log" ||
      die "cmake configure failed: $OUT/cmake-configure.log"
  fi
  nice -n 5 cmake --build "$BUILD_DIR" --target ingressx-operator kubectl-ingressx ingressx-hook
else
  say "skipped (--no-build)"
fi
for b in operator/ingressx-operator cli/kubectl-ingressx hooks/ingressx-hook; do
  [ -x "$BUILD_DIR/$b" ] || die "no $BUILD_DIR/$b (build it, or --build-dir)"
done
# kubectl-ingressx on PATH: kubectl finds plugins there (kubectl ingressx ...).
mkdir -p "$OUT/bin"
ln -sfn "$BUILD_DIR/cli/kubectl-ingressx" "$OUT/bin/kubectl-ingressx"
HELM_BIN_DIR="$("$ROOT/dev/lib/build-helm.sh")" || die "could not build helm (dev/lib/build-helm.sh)"
HELM="$HELM_BIN_DIR/helm"
FORTIO="$("$ROOT/dev/lib/build-fortio.sh")/fortio" || die "could not build fortio (dev/lib/build-fortio.sh)"
export PATH="$OUT/bin:$PATH"
say "$("$OUT/bin/kubectl-ingressx" version 2>/dev/null | head -n 1), helm $("$HELM" version --short), fortio $("$FORTIO" version 2>/dev/null | head -n 1)"

step "the local cluster (dev/cluster up) and its images (dev/cluster images)"
if "$ROOT/dev/cluster" status >/dev/null 2>&1; then
  say "the cluster in ${INGRESSX_CLUSTER_DIR:-/tmp/ingressx-cluster} is up: reused"
else
  # One full cluster per machine: another directory's (the tests', or one started by hand)
  # is used when healthy, and taken down first when not.
  running_rc=0
  running_dir="$("$ROOT/dev/cluster" running 2>/dev/null)" || running_rc=$?
  if [ $running_rc -eq 0 ] && [ -n "$running_dir" ]; then
    say "a healthy full cluster runs in $running_dir (one per machine): the demo uses it"
    export INGRESSX_CLUSTER_DIR="$running_dir"
  else
    if [ -n "$running_dir" ]; then
      say "the full cluster of $running_dir is not healthy: taking it down first"
      INGRESSX_CLUSTER_DIR="$running_dir" "$ROOT/dev/cluster" down
    fi
    "$ROOT/dev/cluster" up
  fi
fi
eval "$("$ROOT/dev/cluster" env)"
export KUBECONFIG
[ "${INGRESSX_MODE:-}" = full ] || die "the cluster in $INGRESSX_CLUSTER_DIR is a control plane only (dev/cluster down; dev/cluster up)"
# (the binaries of step 2, named: dev/cluster images then builds nothing itself)
INGRESSX_BUILD_DIR="$BUILD_DIR" INGRESSX_HOOK_BIN="$BUILD_DIR/hooks/ingressx-hook" \
  INGRESSX_OPERATOR_BIN="$BUILD_DIR/operator/ingressx-operator" \
  INGRESSX_PLUGIN_BIN="$BUILD_DIR/cli/kubectl-ingressx" "$ROOT/dev/cluster" images
DEMO_NGINX_IMAGE="$INGRESSX_NGINX_IMAGE" DEMO_HAPROXY_IMAGE="$INGRESSX_HAPROXY_IMAGE"
DEMO_FORTIO_IMAGE="$INGRESSX_FORTIO_IMAGE"
# The upgrade: the proxy image's next version (a cluster brought up by an older checkout
# has no INGRESSX_NGINX_V2_IMAGE in its env file; dev/cluster images imported it anyway).
NGINX_V2_IMAGE="${INGRESSX_NGINX_V2_IMAGE:-localhost/ingressx/nginx:v2}"
IMAGE_DIGEST="$(ctr --address "$INGRESSX_CONTAINERD_SOCKET" -n k8s.io images ls "name==$INGRESSX_INGRESSX_IMAGE" |
  awk 'NR == 2 { print $3 }')"
[ -n "$IMAGE_DIGEST" ] || die "the node has no image $INGRESSX_INGRESSX_IMAGE"
say "node $(kubectl get nodes -o jsonpath='{.items[0].metadata.name} {.items[0].status.nodeInfo.kubeletVersion}'), image $INGRESSX_INGRESSX_IMAGE ($IMAGE_DIGEST)"

# ---------------------------------------------------------------- 4: the chart
step "install the operator: helm upgrade --install $REL helm/ingressx -n $REL_NS"
CLEAN_CLUSTER_OBJECTS=1
kubectl create namespace "$DEMO_NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
# watchNamespace: the operator manages the demo's namespace only (a Role there, no
# ClusterRole), so that it leaves other ProxyFleets on this cluster alone.
# The image digest as a pod annotation: a re-imported image (same tag) rolls the pods.
t_helm=$SECONDS
"$HELM" upgrade --install "$REL" "$ROOT/helm/ingressx" -n "$REL_NS" --create-namespace \
  --set watchNamespace="$DEMO_NS" --set-string "podAnnotations.ingressx\.io/image-digest=$IMAGE_DIGEST" \
  --wait --timeout 5m >"$OUT/helm-install.log" 2>&1 || die "helm install failed: $(tail -n 20 "$OUT/helm-install.log")"
kubectl -n "$REL_NS" rollout status deploy/"$REL" --timeout=120s >/dev/null
holder=""
for _ in $(seq 1 60); do
  holder="$(kubectl -n "$REL_NS" get lease ingressx-operator -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true)"
  [ -n "$holder" ] && break
  sleep 1
done
[ -n "$holder" ] || die "no operator replica holds the Lease $REL_NS/ingressx-operator after 60 s"
kubectl -n "$REL_NS" get pods -l app.kubernetes.io/instance="$REL" -o wide | cut -c1-110
say "operator installed in $((SECONDS - t_helm)) s; leader: $holder"

# ---------------------------------------------------------------- 5: the demo namespace
step "namespace $DEMO_NS: fortio backend, HAProxy front door, ProxyFleet edge (3 nginx)"
for f in backend.yaml nginx-config.yaml plain.yaml; do render "$f" | k apply -f - >/dev/null || die "could not apply demo/$f"; done
k rollout status deploy/backend --timeout=120s >/dev/null || die "the backend did not become ready"
render frontdoor.yaml | k apply -f - >/dev/null || die "could not apply demo/frontdoor.yaml"
k rollout status deploy/frontdoor --timeout=120s >/dev/null || die "the front door did not become ready"
NODE_IP="$(kubectl get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')"
EDGE_PORT="$(k get svc frontdoor -o jsonpath='{.spec.ports[?(@.name=="edge")].nodePort}')"
PLAIN_PORT="$(k get svc frontdoor -o jsonpath='{.spec.ports[?(@.name=="plain")].nodePort}')"
ADMIN_IP="$(k get svc frontdoor-admin -o jsonpath='{.spec.clusterIP}')"
EDGE_URL="http://$NODE_IP:$EDGE_PORT" PLAIN_URL="http://$NODE_IP:$PLAIN_PORT"
render fleet.yaml | k apply -f - >/dev/null || die "could not apply demo/fleet.yaml"
say "ProxyFleet edge applied; waiting for it to be Ready"
k wait --for=jsonpath='{.status.phase}'=Ready pf/edge --timeout=240s >/dev/null ||
  die "ProxyFleet edge is not Ready after 240 s: $(k get pf edge -o jsonpath='{.status.phase}: {.status.message}')"
v="$(header X-Edge-Image "$EDGE_URL/")" || die "the front door $EDGE_URL does not answer through fleet edge"
k get pf edge
say "front door: $EDGE_URL (edge) and $PLAIN_URL (plain), runtime API $ADMIN_IP:9999 (frontdoor-admin.$DEMO_NS)"
say "HAProxy servers: $(weights); answers with X-Edge-Image: $v ($DEMO_NGINX_IMAGE)"

# ---------------------------------------------------------------- 6: the ingressx upgrade under load
# Each run: the load starts BEFORE_S seconds before the upgrade (long-lived requests are
# then in flight when it begins) and runs AFTER_S seconds past its end, longer than a
# long-lived request, so that every request in flight during the upgrade has ended (well
# or not) when the load stops.
BEFORE_S=10 AFTER_S=25
step "the upgrade with ingressx under load: kubectl ingressx rollout start edge --image nginx=$NGINX_V2_IMAGE --wait"
load_start edge "$EDGE_URL"
sleep $BEFORE_S
t_up=$SECONDS
set +e
kubectl ingressx -n "$DEMO_NS" rollout start edge --image "nginx=$NGINX_V2_IMAGE" --wait --timeout 10m
rc=$?
set -e
EDGE_WALL=$((SECONDS - t_up))
say "kubectl ingressx exited $rc after $EDGE_WALL s; load goes on for $AFTER_S s"
sleep $AFTER_S
load_stop
[ $rc = 0 ] || die "kubectl ingressx rollout start exited $rc (docs/cli.md: exit codes)"
echo
kubectl ingressx -n "$DEMO_NS" rollout get edge || true
FR="$(k get pf edge -o jsonpath='{.status.currentRollout}')"
k get fr "$FR" -o json >"$OUT/fleetrollout.json"
python3 "$ROOT/demo/summary.py" phase "$OUT" edge edge "$EDGE_WALL" "$OUT/fleetrollout.json" >"$OUT/run-ingressx.json"
v="$(header X-Edge-Image "$EDGE_URL/")" || v="?"
say "after the rollout: front door answers with X-Edge-Image: $v; HAProxy servers: $(weights)"
[ "$v" = v2 ] || die "after the rollout the front door answers with X-Edge-Image '$v', not v2"

# ---------------------------------------------------------------- 7: the usual upgrade
PLAIN_WALL=""
if [ $DO_BASELINE = 1 ]; then
  step "the usual upgrade under the same load: a plain Deployment, rolling update (no ingressx)"
  k scale deploy/plain --replicas=3 >/dev/null
  k rollout status deploy/plain --timeout=120s >/dev/null || die "Deployment plain did not become ready"
  header X-Edge-Image "$PLAIN_URL/" >/dev/null || die "the front door $PLAIN_URL does not answer through plain"
  load_start plain "$PLAIN_URL"
  sleep $BEFORE_S
  t_up=$SECONDS
  say "kubectl set image deploy/plain nginx=$NGINX_V2_IMAGE (the same upgrade); kubectl rollout status"
  k set image deploy/plain "nginx=$NGINX_V2_IMAGE" >/dev/null
  k rollout status deploy/plain --timeout=300s
  PLAIN_WALL=$((SECONDS - t_up))
  say "rolled out in $PLAIN_WALL s; load goes on for $AFTER_S s"
  sleep $AFTER_S
  load_stop
  python3 "$ROOT/demo/summary.py" phase "$OUT" plain plain "$PLAIN_WALL" >"$OUT/run-plain.json"
  v="$(header X-Edge-Image "$PLAIN_URL/")" || v="?"
  say "after the rolling update: plain answers with X-Edge-Image: $v"
  k scale deploy/plain --replicas=0 >/dev/null
fi

# ---------------------------------------------------------------- summary
printf '\n%s==> summary%s   (+%ds)\n' "$B" "$N" $((SECONDS - T0))
labels=("ingressx (TempFleet)")
runs="$OUT/run-ingressx.json"
if [ -n "$PLAIN_WALL" ]; then labels+=("plain rolling update"); runs="$runs $OUT/run-plain.json"; fi
# shellcheck disable=SC2086
python3 -c 'import json, sys; json.dump([json.load(open(f)) for f in sys.argv[1:]], sys.stdout, indent=2)' $runs >"$OUT/summary.json"
python3 "$ROOT/demo/summary.py" table "$OUT" "$OUT/summary.json" "${labels[@]}" | tee "$OUT/summary.md"
printf '\n%sdemo done in %d s%s (summary: %s/summary.md, %s/summary.json)\n' "$G" $((SECONDS - T0)) "$N" "$OUT" "$OUT"
if [ $CHECK = 1 ]; then
  bad="$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))[0]; print(r["total"]["non2xx"] + r["total"]["errors"] if r["total"]["requests"] else "no requests")' "$OUT/summary.json")"
  [ "$bad" = 0 ] || die "--check: the ingressx upgrade had $bad failed requests (non-2xx or transport errors)"
  say "--check: every request of the ingressx upgrade answered 2xx"
fi
