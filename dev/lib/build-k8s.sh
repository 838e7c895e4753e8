#!/usr/bin/env bash
# Builds Kubernetes components from the Go module proxy at a pinned version and caches
# them outside the work tree, keyed by version:
#   $INGRESSX_CACHE/k8s/<version>/bin/<component>
# Usage: build-k8s.sh [component ...]   (default: kube-apiserver)
# Prints the bin directory on stdout. Idempotent: a cached binary is reused.
set -euo pipefail

K8S_VERSION="${INGRESSX_K8S_VERSION:-v1.32.13}"
CACHE="${INGRESSX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ingressx}"
STAGING_VERSION="v0.${K8S_VERSION#v1.}"
OUT="$CACHE/k8s/$K8S_VERSION"
BIN="$OUT/bin"
components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kube-apiserver)

# Staging modules of k8s.io/kubernetes 1.32; each is served at v0.32.x.
STAGING=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
  cloud-provider cluster-bootstrap code-generator component-base component-helpers
  controller-manager cri-api cri-client csi-translation-lib dynamic-resource-allocation
  endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy
  kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission
  sample-apiserver sample-cli-plugin sample-controller)

# The module proxy reachable here does not serve every staging module at every patch
# release (some return 403 "not available"). These are pinned to the newest v0.32.x
# whose .info, .mod, .zip and checksum-database entry are all served; they are API-type / helper modules whose
# code does not change between patch releases in ways the binaries depend on.
declare -A STAGING_OVERRIDE=(
  [csi-translation-lib]=v0.32.10
  [endpointslice]=v0.32.5
  [kube-controller-manager]=v0.32.6
  [kube-proxy]=v0.32.7
  [kube-scheduler]=v0.32.10
)
[ "$K8S_VERSION" = v1.32.13 ] || STAGING_OVERRIDE=()

# go build parallelism (the machine is shared; 2 by default).
GO_P="${INGRESSX_GO_BUILD_P:-2}"

missing=()
for c in "${components[@]}"; do
  [ -x "$BIN/$c" ] || missing+=("$c")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { echo "build-k8s: go is not installed" >&2; exit 1; }
mkdir -p "$OUT/src" "$BIN"
cd "$OUT/src"
spec="$(for m in "${STAGING[@]}"; do
  echo "replace k8s.io/$m => k8s.io/$m ${STAGING_OVERRIDE[$m]:-$STAGING_VERSION}"
done)"
if [ ! -f go.sum ] || [ ! -f .complete ] || [ "$(cat .spec 2>/dev/null)" != "$spec" ]; then
  echo "build-k8s: preparing wrapper module for k8s.io/kubernetes $K8S_VERSION" >&2
  rm -f .complete
  {
    echo "module ingressx.io/k8sbuild"
    echo
    echo "go 1.23"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    printf '%s\n' "$spec"
  } >go.mod
  cat >tools.go <<'GO'
//go:build tools

package k8sbuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
  GOFLAGS=-mod=mod go mod tidy -e >&2
  printf '%s\n' "$spec" >.spec
  touch .complete
fi

# Version stamping, as hack/lib/version.sh does.
pkgs=(k8s.io/client-go/pkg/version k8s.io/component-base/version)
ldflags="-s -w"
for p in "${pkgs[@]}"; do
  ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1"
  ldflags+=" -X $p.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)"
  ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
# One `go build` for all missing components, so shared packages compile once.
echo "build-k8s: building ${missing[*]} $K8S_VERSION (cold builds take several minutes)" >&2
tmp="$BIN/.tmp.$$"
rm -rf -- "$tmp"
mkdir -p -- "$tmp"
trap 'rm -rf -- "$tmp"' EXIT
pkgs=()
for c in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
CGO_ENABLED=0 go build -p "$GO_P" -mod=mod -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}" >&2
for c in "${missing[@]}"; do mv "$tmp/$c" "$BIN/$c"; done
rm -rf -- "$tmp"
echo "$BIN"
