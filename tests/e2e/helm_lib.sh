# Helpers of the Helm chart e2e tests (tests/e2e/helm_*.sh; sourced after lib.sh).
# Helm is built from the Go module proxy by dev/lib/build-helm.sh (cached by version);
# its own state (repositories, cache) goes to a temp dir removed on exit.
# shellcheck shell=bash disable=SC2034

HX_CHART="$E2E_ROOT/helm/ingressx"
HX_HELM_BIN_DIR="$("$E2E_ROOT/dev/lib/build-helm.sh")" || fail "could not build helm (dev/lib/build-helm.sh)"
HX_HELM="$HX_HELM_BIN_DIR/helm"
HX_TMP="$(mktemp -d "${TMPDIR:-/tmp}/ingressx-$E2E_NAME.XXXXXX")"
e2e_cleanup_dir "$HX_TMP"
export HELM_CACHE_HOME="$HX_TMP/helm/cache" HELM_CONFIG_HOME="$HX_TMP/helm/config" \
  HELM_DATA_HOME="$HX_TMP/helm/data"
HX_IMAGE="${INGRESSX_INGRESSX_IMAGE:-localhost/ingressx/ingressx:dev}"

# (without the loader's notice that the chart's crds/ is a symbolic link: see helm_chart.sh)
helm() { "$HX_HELM" "$@" 2> >(grep -v 'found symbolic link in path: .*/helm/ingressx/crds resolves to' >&2); }
hx_log() { printf '%s %s\n' "$(date +%T.%1N)" "$*"; }

# hx_require_operator_image : the node has the ingressx image with the operator in it.
hx_require_operator_image() {
  kubectl get node -o jsonpath='{.items[*].status.images[*].names}' | grep -q -- "$HX_IMAGE" ||
    fail "the node has no image $HX_IMAGE: build the operator and run dev/cluster images (INGRESSX_BUILD_DIR=...)"
}

# hx_wait_ready_pods SELECTOR N TIMEOUT : exactly N pods match, all Ready, none
# terminating; prints their names (sorted), one per line.
hx_wait_ready_pods() {
  local sel="$1" n="$2" deadline=$((SECONDS + $3)) out=""
  while [ $SECONDS -lt $deadline ]; do
    out="$(k get pods -l "$sel" -o json | python3 -c '
import json, sys
ps = json.load(sys.stdin)["items"]
ok = [p["metadata"]["name"] for p in ps if not p["metadata"].get("deletionTimestamp")
      and any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))]
print(len(ps), " ".join(sorted(ok)))')" || out=""
    if [ "${out%% *}" = "$n" ] && [ "$(wc -w <<<"${out#* }")" = "$n" ]; then
      tr ' ' '\n' <<<"${out#* }"
      return 0
    fi
    sleep 1
  done
  k get pods -l "$sel" -o wide >&2 || true
  fail "want $n Ready pods with $sel after $3 s, have: $out"
}

# hx_lease_holder NAME : holderIdentity of Lease NAME in $NS (empty if none).
hx_lease_holder() { k get lease "$1" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true; }

# hx_wait_lease_held_by NAME TIMEOUT POD... : the Lease is held by one of the pods
# (identity "<pod name>_<random>": the operator's default is hostname_<random>); prints it.
hx_wait_lease_held_by() {
  local lease="$1" deadline=$((SECONDS + $2)) holder="" p
  shift 2
  while [ $SECONDS -lt $deadline ]; do
    holder="$(hx_lease_holder "$lease")"
    for p in "$@"; do
      case "$holder" in "$p" | "${p}_"*) echo "$p"; return 0 ;; esac
    done
    sleep 1
  done
  fail "Lease $NS/$lease is held by '$holder' after $2 s, not by one of: $*"
}

# hx_pod_metric POD REGEX : sum of the samples of the pod's /metrics (port 8080, from the
# host to the pod IP) whose line matches REGEX; empty when none.
hx_pod_metric() {
  local ip
  ip="$(k get pod "$1" -o jsonpath='{.status.podIP}')"
  { curl -fsS --max-time 3 "http://$ip:8080/metrics" 2>/dev/null || true; } |
    awk -v re="$2" '$0 ~ re && !/^#/ { s += $NF; n++ } END { if (n) print s + 0 }'
}
