#!/usr/bin/env bash
# The Helm chart helm/ingressx, checked without installing it: `helm lint --strict` is
# clean (no warning, for the default values and for a namespaced variant), the values
# schema refuses bad values, the chart's CRDs are exactly crds/ (also in the packaged
# chart), the RBAC is the documented least-privilege set (exact verbs, no wildcard), and
# `helm template` output (CRDs included) passes `kubectl apply --dry-run=server` on the
# real apiserver.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/helm_lib.sh
. "$(dirname "$0")/helm_lib.sh"
e2e_namespace
hx_log "helm $(helm version --short), chart $HX_CHART, namespace $NS"

# --- lint: no [WARNING]/[ERROR] lines, and nothing on stderr but Helm's notice that the
# chart's crds/ is a symbolic link (to the repository's crds/: one copy of the CRDs in git)
lint() {
  local out err rc=0
  out="$(helm lint --strict "$HX_CHART" "$@" 2>"$HX_TMP/lint.err")" || rc=$?
  err="$(grep -v 'found symbolic link in path: .*/helm/ingressx/crds resolves to .*/crds\. Contents of linked file included and used' "$HX_TMP/lint.err" || true)"
  [ $rc = 0 ] || fail "helm lint $* failed: $out $err"
  ! grep -E '\[(WARNING|ERROR)\]' <<<"$out" || fail "helm lint $* is not clean: $out"
  [ -z "$err" ] || fail "helm lint $* wrote to stderr: $err"
  grep -q '1 chart(s) linted, 0 chart(s) failed' <<<"$out" || fail "unexpected helm lint output: $out"
}
lint
lint --set watchNamespace=team-a --set 'rbac.secrets.namespaces={team-a,team-b}' \
  --set metrics.serviceMonitor.enabled=true --set leaderElection.enabled=false --set replicaCount=1
ok "helm lint --strict: clean (default values; namespaced + ServiceMonitor variant)"

# --- the schema refuses bad values
refuse() {
  local what="$1" out
  shift
  if out="$(helm template x "$HX_CHART" "$@" 2>&1)"; then
    fail "helm template accepted $what ($*)"
  fi
  grep -q 'values don.t meet the specifications of the schema' <<<"$out" ||
    fail "helm template refused $what, but not by the schema: $out"
}
refuse "a negative replicaCount" --set replicaCount=-1
refuse "log.format xml" --set log.format=xml
refuse "an unknown key" --set replicas=3
refuse "a bad duration" --set leaderElection.leaseDuration=15
refuse "a bad namespace name" --set watchNamespace=Team_A
refuse "a flag that is not a flag" --set 'extraArgs={debug}'
if out="$(helm template x "$HX_CHART" --set leaderElection.enabled=false 2>&1)"; then
  fail "helm template accepted 2 replicas without leader election"
fi
grep -q 'replicaCount > 1 needs leaderElection.enabled' <<<"$out" || fail "2 replicas without leader election refused, but not by the chart's check: $out"
ok "values.schema.json refuses 6 kinds of bad values; the chart refuses 2 replicas without leader election"

# --- the CRDs are crds/, byte for byte, in the chart and in the packaged chart
diff <(helm show crds "$HX_CHART" 2>/dev/null | grep -v -e '^---$' -e '^$') <(cat "$E2E_ROOT"/crds/*.yaml | grep -v -e '^---$' -e '^$') >/dev/null ||
  fail "helm show crds differs from crds/"
helm package "$HX_CHART" -d "$HX_TMP/pkg" >/dev/null 2>"$HX_TMP/package.err" || fail "helm package failed: $(cat "$HX_TMP/package.err")"
tgz="$(ls "$HX_TMP"/pkg/ingressx-*.tgz)"
mkdir -p "$HX_TMP/unpacked" && tar -C "$HX_TMP/unpacked" -mxzf "$tgz"
for f in "$E2E_ROOT"/crds/*.yaml; do
  g="$HX_TMP/unpacked/ingressx/crds/$(basename "$f")"
  [ -f "$g" ] && [ ! -L "$g" ] || fail "the packaged chart has no regular file crds/$(basename "$f")"
  cmp -s "$f" "$g" || fail "crds/$(basename "$f") differs in the packaged chart"
done
ok "the chart's CRDs are crds/ (helm show crds; $(basename "$tgz") holds them as regular files)"

# --- RBAC: exactly the documented rules, no wildcard
render() { helm template ingressx "$HX_CHART" -n "$NS" "$@"; }
check_rbac() {
  local mode="$1"
  shift
  # (kubectl turns the YAML into a stream of JSON objects: no PyYAML needed)
  render "$@" | kubectl create --dry-run=client -o json -f - | python3 -c '
import json, sys
mode = sys.argv[1]
text, dec, docs, i = sys.stdin.read(), json.JSONDecoder(), [], 0
while True:
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    d, i = dec.raw_decode(text, i)
    docs.extend(d.get("items", [d]) if d.get("kind") == "List" else [d])
want = {
  ("ingressx.io", "proxyfleets"): "get list watch update patch",
  ("ingressx.io", "proxyfleets/status"): "get update patch",
  ("ingressx.io", "fleetrollouts"): "get list watch create update patch delete",
  ("ingressx.io", "fleetrollouts/status"): "get update patch",
  ("apps", "deployments"): "get list watch create update patch delete",
  ("", "services"): "get list watch create update patch delete",
  ("", "pods"): "get list watch",
  ("", "configmaps"): "get list watch",
  ("", "secrets"): "get",
  ("policy", "poddisruptionbudgets"): "create patch delete",
  ("events.k8s.io", "events"): "create patch",
}
if mode == "gateway-api":
    want[("gateway.networking.k8s.io", "httproutes")] = "get patch"
    want[("gateway.networking.k8s.io", "tcproutes")] = "get patch"
got, lease = {}, {}
for d in docs:
    if d["kind"] not in ("Role", "ClusterRole"):
        continue
    for r in d.get("rules", []):
        for field in ("apiGroups", "resources", "verbs", "resourceNames"):
            for v in r.get(field, []):
                if "*" in v:
                    sys.exit("wildcard %r in %s %s" % (v, d["kind"], d["metadata"]["name"]))
        for g in r["apiGroups"]:
            for res in r["resources"]:
                key = (g, res)
                if key == ("coordination.k8s.io", "leases"):
                    lease.setdefault(d["metadata"]["namespace"], []).append((tuple(r.get("resourceNames", [])), " ".join(r["verbs"])))
                    continue
                where = d["kind"] if d["kind"] == "ClusterRole" else "Role/" + d["metadata"]["namespace"]
                got.setdefault(key, {})[where] = " ".join(r["verbs"])
for key, verbs in want.items():
    if key not in got:
        sys.exit("no rule for %s/%s" % key)
    for where, v in got[key].items():
        if v != verbs:
            sys.exit("%s/%s in %s: verbs %r, want %r" % (key + (where, v, verbs)))
extra = set(got) - set(want)
if extra:
    sys.exit("rules beyond the documented set: %s" % sorted(extra))
ns = sys.argv[2]
if lease != {ns: [((), "create"), (("ingressx-operator",), "get update")]}:
    sys.exit("lease rules: %r" % lease)
scopes = {k: sorted(v) for k, v in got.items()}
if mode == "cluster" and any(v != ["ClusterRole"] for v in scopes.values()):
    sys.exit("cluster mode: %r" % scopes)
if mode == "namespaced":
    if any(v != ["Role/" + ns] for v in scopes.values()):
        sys.exit("namespaced mode: %r" % scopes)
if mode == "secrets-ns":
    if scopes[("", "secrets")] != ["Role/a", "Role/b"]:
        sys.exit("secrets in: %r" % scopes[("", "secrets")])
print("rbac %s ok: %d resources" % (mode, len(got)))
' "$mode" "$NS" || fail "RBAC ($mode) is not the documented least-privilege set"
}
check_rbac cluster
check_rbac namespaced --set watchNamespace="$NS"
check_rbac secrets-ns --set 'rbac.secrets.namespaces={a,b}'
check_rbac gateway-api --set rbac.gatewayAPI.enabled=true
ok "RBAC: exact verbs per resource, no wildcard (cluster-wide, namespaced, Secrets per namespace, gateway-api)"

# --- server-side dry run of everything the chart renders (CRDs included)
dry_run() {
  local out
  out="$(render --include-crds "$@" | kubectl -n "$NS" apply --server-side --force-conflicts --field-manager=helm-chart-check --dry-run=server -f - 2>&1)" ||
    fail "kubectl apply --dry-run=server refuses the chart ($*): $out"
  printf '%s\n' "$out" | while IFS= read -r line; do echo "    $line"; done
}
dry_run
dry_run --set watchNamespace="$NS" --set "rbac.secrets.namespaces={$NS}" --set podDisruptionBudget.maxUnavailable=1
ok "helm template --include-crds | kubectl apply --dry-run=server: accepted (default values and namespaced variant)"
