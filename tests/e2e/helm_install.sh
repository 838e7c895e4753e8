#!/usr/bin/env bash
# The chart installs and upgrades on the cluster: `helm install --wait` in a fresh
# namespace (watching only that namespace, so that it leaves other tests' fleets alone)
# brings up 2 operator pods that become Ready, run as non-root on a read-only root
# filesystem, and one of them holds the Lease (and says so in its /metrics); `helm upgrade`
# with a changed value (log level) rolls both pods, which become Ready again, and a new
# pod takes the Lease; `helm uninstall` removes everything but the CRDs.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/helm_lib.sh
. "$(dirname "$0")/helm_lib.sh"
hx_require_operator_image
e2e_namespace
REL=ingressx
SEL="app.kubernetes.io/instance=$REL,app.kubernetes.io/component=operator"
uninstall_on_exit() {
  local rc=$?
  [ $rc -ne 0 ] && { k logs -l "$SEL" --tail=20 --prefix 2>&1 | cut -c1-300 || true; }
  helm uninstall "$REL" -n "$NS" --wait --timeout 60s >/dev/null 2>&1 || true
  (exit $rc)
  e2e_cleanup
}
trap uninstall_on_exit EXIT

t0=$SECONDS
helm install "$REL" "$HX_CHART" -n "$NS" --set watchNamespace="$NS" --set "hookImage=$HX_IMAGE" \
  --wait --timeout 180s >"$HX_TMP/install.log" 2>&1 || fail "helm install failed: $(tail -n 20 "$HX_TMP/install.log")"
mapfile -t pods < <(hx_wait_ready_pods "$SEL" 2 60)
hx_log "installed in $((SECONDS - t0)) s: pods ${pods[*]} Ready"
kubectl get crd proxyfleets.ingressx.io fleetrollouts.ingressx.io >/dev/null || fail "the CRDs are not installed"

# Security context as deployed: non-root, read-only root filesystem.
uid="$(k exec "${pods[0]}" -- id -u)" || fail "exec id in ${pods[0]}"
[ "$uid" != 0 ] || fail "the operator runs as root"
if k exec "${pods[0]}" -- touch /probe 2>/dev/null; then fail "the root filesystem is writable"; fi
k exec "${pods[0]}" -- /usr/local/bin/ingressx-operator --version >/dev/null || fail "no ingressx-operator in the image"
ok "operator pods run as uid $uid, read-only root filesystem"

leader="$(hx_wait_lease_held_by ingressx-operator 60 "${pods[@]}")"
hx_log "Lease $NS/ingressx-operator held by $leader ($(hx_lease_holder ingressx-operator))"
for p in "${pods[@]}"; do
  want=0
  [ "$p" = "$leader" ] && want=1
  for _ in $(seq 1 20); do
    m="$(hx_pod_metric "$p" '^leader_election_master_status')"
    [ "$m" = "$want" ] && break
    sleep 1
  done
  [ "$m" = "$want" ] || fail "pod $p: leader_election_master_status is '$m', want $want"
done
k logs "$leader" | grep -q 'informers synced; reconciling' || fail "the leader $leader does not reconcile (no 'informers synced' in its log)"
ok "install: 2 pods Ready, $leader holds the Lease and reconciles, the other stands by"

# Upgrade with a changed value: both pods are replaced and a new one leads.
t0=$SECONDS
helm upgrade "$REL" "$HX_CHART" -n "$NS" --reuse-values --set log.level=debug \
  --wait --timeout 180s >"$HX_TMP/upgrade.log" 2>&1 || fail "helm upgrade failed: $(tail -n 20 "$HX_TMP/upgrade.log")"
k rollout status "deploy/$REL" --timeout=120s >/dev/null || fail "the upgraded Deployment did not roll out"
mapfile -t pods2 < <(hx_wait_ready_pods "$SEL" 2 90)
for p in "${pods2[@]}"; do
  for q in "${pods[@]}"; do [ "$p" != "$q" ] || fail "pod $p survived the upgrade"; done
  k get pod "$p" -o jsonpath='{.spec.containers[0].args}' | grep -q -- '--log-level=debug' ||
    fail "pod $p does not run with the upgraded value --log-level=debug"
done
leader2="$(hx_wait_lease_held_by ingressx-operator 60 "${pods2[@]}")"
rev="$(helm status "$REL" -n "$NS" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')"
[ "$rev" = 2 ] || fail "helm release revision is $rev after the upgrade, want 2"
hx_log "upgraded in $((SECONDS - t0)) s: pods ${pods2[*]} Ready, Lease held by $leader2"
ok "upgrade (log.level=debug): release revision 2, both pods replaced and Ready, $leader2 holds the Lease"

helm uninstall "$REL" -n "$NS" --wait --timeout 90s >/dev/null || fail "helm uninstall failed"
left="$(k get deploy,svc,sa,role,rolebinding,pdb -l "app.kubernetes.io/instance=$REL" -o name 2>/dev/null)"
[ -z "$left" ] || fail "left after helm uninstall: $left"
kubectl get crd proxyfleets.ingressx.io >/dev/null || fail "helm uninstall removed the CRDs (it must keep them)"
ok "uninstall: nothing of the release left; the CRDs stay"
