#!/usr/bin/env bash
# Builds Helm (the client for helm/ingressx) from the Go module proxy at a pinned version
# and caches it outside the work tree, keyed by version:
#   $INGRESSX_CACHE/helm/<version>/bin/helm
# Usage: build-helm.sh        Prints the bin directory on stdout. Idempotent.
# (No release binaries are downloaded: `go install helm.sh/helm/v3/cmd/helm@VERSION`.)
set -euo pipefail

# v3.17 is built on the Kubernetes 1.32 libraries, like the rest of dev/ (most of its
# modules are already in the module cache after dev/lib/build-k8s.sh).
HELM_VERSION="${INGRESSX_HELM_VERSION:-v3.17.4}"
CACHE="${INGRESSX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ingressx}"
OUT="$CACHE/helm/$HELM_VERSION"
BIN="$OUT/bin"
GO_P="${INGRESSX_GO_BUILD_P:-2}"

if [ -x "$BIN/helm" ]; then
  echo "$BIN"
  exit 0
fi
command -v go >/dev/null || { echo "build-helm: go is not installed (scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$OUT/gobin"
echo "build-helm: building helm $HELM_VERSION from the Go module proxy (a few minutes, once)" >&2
# Static (no cgo). Stamped as helm's Makefile does: the version (helm version) and the
# Kubernetes version that `helm template` and `helm lint` assume without a cluster (1.N+1
# of the client-go v0.N it is built with: v3.17 uses v0.32, so 1.32; unstamped, 1.20).
HELM_K8S_MINOR="${INGRESSX_HELM_K8S_MINOR:-32}"
GOBIN="$OUT/gobin" CGO_ENABLED=0 go install -p "$GO_P" -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$HELM_K8S_MINOR \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM_K8S_MINOR" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
mkdir -p "$BIN"
mv "$OUT/gobin/helm" "$BIN/helm"
rmdir "$OUT/gobin" 2>/dev/null || true
echo "$BIN"
