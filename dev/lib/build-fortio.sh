#!/usr/bin/env bash
# Builds fortio (the backend image's HTTP server: delayed responses, long-lived streams)
# from the Go module proxy at a pinned version and caches it outside the work tree,
# keyed by version:
#   $INGRESSX_CACHE/fortio/<version>/bin/fortio
# Usage: build-fortio.sh        Prints the bin directory on stdout. Idempotent.
set -euo pipefail

FORTIO_VERSION="${INGRESSX_FORTIO_VERSION:-v1.66.5}"
# (v1.67+ need grol.io/grol, which the module proxy here refuses: 403.)
CACHE="${INGRESSX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ingressx}"
OUT="$CACHE/fortio/$FORTIO_VERSION"
BIN="$OUT/bin"
GO_P="${INGRESSX_GO_BUILD_P:-2}"

if [ -x "$BIN/fortio" ]; then
  echo "$BIN"
  exit 0
fi
command -v go >/dev/null || { echo "build-fortio: go is not installed" >&2; exit 1; }
mkdir -p "$OUT/gobin"
echo "build-fortio: building fortio $FORTIO_VERSION" >&2
# Static (no cgo), so the image needs no shared libraries.
GOBIN="$OUT/gobin" CGO_ENABLED=0 go install -p "$GO_P" -trimpath -ldflags "-s -w" \
  "fortio.org/fortio@$FORTIO_VERSION" >&2
mkdir -p "$BIN"
mv "$OUT/gobin/fortio" "$BIN/fortio"
rmdir "$OUT/gobin" 2>/dev/null || true
echo "$BIN"
