#!/usr/bin/env bash
# Builds CoreDNS from the Go module proxy at a pinned version, with only the plugins a
# cluster DNS needs (the full plugin set pulls in every cloud SDK), and caches it
# outside the work tree, keyed by version:
#   $INGRESSX_CACHE/coredns/<version>/bin/coredns
# Usage: build-coredns.sh        Prints the bin directory on stdout. Idempotent.
set -euo pipefail

COREDNS_VERSION="${INGRESSX_COREDNS_VERSION:-v1.11.3}" # the version Kubernetes 1.32 ships
CACHE="${INGRESSX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ingressx}"
OUT="$CACHE/coredns/$COREDNS_VERSION"
BIN="$OUT/bin"
GO_P="${INGRESSX_GO_BUILD_P:-2}"

# Plugins, in CoreDNS's plugin.cfg order (the order is the order of execution).
PLUGINS=(reload bind ready health prometheus errors log loadbalance cache hosts
  kubernetes loop forward)
declare -A PKG=([prometheus]=metrics)

if [ -x "$BIN/coredns" ]; then
  echo "$BIN"
  exit 0
fi
command -v go >/dev/null || { echo "build-coredns: go is not installed" >&2; exit 1; }
mkdir -p "$OUT/src" "$BIN"
cd "$OUT/src"
echo "build-coredns: building CoreDNS $COREDNS_VERSION (${PLUGINS[*]})" >&2
{
  echo "module ingressx.io/corednsbuild"
  echo
  echo "go 1.21"
  echo
  echo "require github.com/coredns/coredns $COREDNS_VERSION"
} >go.mod
{
  echo "package main"
  echo
  echo "import ("
  echo '	"github.com/coredns/coredns/core/dnsserver"'
  echo '	"github.com/coredns/coredns/coremain"'
  for p in "${PLUGINS[@]}"; do
    echo "	_ \"github.com/coredns/coredns/plugin/${PKG[$p]:-$p}\""
  done
  echo ")"
  echo
  echo "var directives = []string{"
  for p in "${PLUGINS[@]}"; do echo "	\"$p\","; done
  echo "}"
  echo
  echo "func init() { dnsserver.Directives = directives }"
  echo
  echo "func main() { coremain.Run() }"
} >main.go
GOFLAGS=-mod=mod go mod tidy >&2
CGO_ENABLED=0 go build -p "$GO_P" -mod=mod -trimpath -ldflags "-s -w" -o "$BIN/coredns.tmp" . >&2
mv "$BIN/coredns.tmp" "$BIN/coredns"
echo "$BIN"
