#!/usr/bin/env bash
# Fetches the Gateway API standard-channel CRDs (HTTPRoute, Gateway, GatewayClass, ...),
# and TCPRoute from the experimental channel (it has no standard one), from the Go module proxy at a pinned version and caches them outside the work tree,
# keyed by version:
#   $INGRESSX_CACHE/gateway-api/<version>/crds/*.yaml
# Usage: gateway-api-crds.sh     Prints the CRD directory on stdout. Idempotent.
set -euo pipefail

GATEWAY_API_VERSION="${INGRESSX_GATEWAY_API_VERSION:-v1.2.1}"
CACHE="${INGRESSX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ingressx}"
OUT="$CACHE/gateway-api/$GATEWAY_API_VERSION"
CRDS="$OUT/crds"

TCPROUTE=gateway.networking.k8s.io_tcproutes.yaml
if [ -f "$CRDS/.complete" ] && [ -f "$CRDS/$TCPROUTE" ]; then
  echo "$CRDS"
  exit 0
fi
command -v go >/dev/null || { echo "gateway-api-crds: go is not installed" >&2; exit 1; }
echo "gateway-api-crds: downloading sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" >&2
# Outside any module, so the project's go.mod (if any) plays no part.
json="$(cd / && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")"
dir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[ -n "$dir" ] && [ -d "$dir/config/crd/standard" ] && [ -f "$dir/config/crd/experimental/$TCPROUTE" ] || {
  echo "gateway-api-crds: no config/crd/standard or config/crd/experimental/$TCPROUTE in the module ($json)" >&2
  exit 1
}
tmp="$OUT/crds.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$dir"/config/crd/standard/*.yaml "$dir/config/crd/experimental/$TCPROUTE" "$tmp/"
chmod u+w "$tmp"/*.yaml
touch "$tmp/.complete"
rm -rf "$CRDS"
mv "$tmp" "$CRDS"
echo "$CRDS"
