# Locally built OCI images for dev/cluster (no registry): built with umoci into an OCI
# layout, archived, cached by content under $IMAGE_CACHE, and imported into our
# containerd's k8s.io namespace. Sourced, not executed.
# shellcheck shell=bash
#
# Images (all named localhost/ingressx/..., so the CRI never tries a registry):
#   localhost/ingressx/pause:3.10   the sandbox image (a static C program)
#   localhost/ingressx/nginx:dev    Debian's nginx with stub_status on, plus busybox
#                                   (sh, nslookup, wget) for exec and DNS checks;
#                                   /etc/nginx/edge-image.conf adds "X-Edge-Image: dev"
#   localhost/ingressx/nginx:v2     the same with "X-Edge-Image: v2": the new proxy
#                                   version the demo upgrades to (kubectl set image)
#   localhost/ingressx/haproxy:dev  Debian's HAProxy (master-worker), stats on :8404,
#                                   plus busybox
#   localhost/ingressx/busybox:dev  busybox only, default stop signal (SIGTERM): for
#                                   tests that run shell scripts in pods
#   localhost/ingressx/fortio:dev   the backend: fortio server (Go module proxy, static)
#                                   on :8080 (delays, long-lived streams), plus busybox
#   localhost/ingressx/ingressx:dev ingressx-hook (entrypoint), ingressx-operator and
#                                   kubectl-ingressx (with their shared libraries) from a
#                                   CMake build dir, in /usr/local/bin, plus busybox and CA
#                                   certificates (skipped when the build has no hook)

IMAGE_CACHE="${INGRESSX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ingressx}/images"
# shellcheck disable=SC2034
PAUSE_IMAGE="localhost/ingressx/pause:3.10"
# shellcheck disable=SC2034
NGINX_IMAGE="localhost/ingressx/nginx:dev"
# shellcheck disable=SC2034
NGINX_V2_IMAGE="localhost/ingressx/nginx:v2"
# shellcheck disable=SC2034
HAPROXY_IMAGE="localhost/ingressx/haproxy:dev"
# shellcheck disable=SC2034
BUSYBOX_IMAGE="localhost/ingressx/busybox:dev"
# shellcheck disable=SC2034
FORTIO_IMAGE="localhost/ingressx/fortio:dev"
# shellcheck disable=SC2034
INGRESSX_IMAGE="localhost/ingressx/ingressx:dev"

# _oci_archive NAME TAG ROOTFS_FN CONFIG_ARGS... : builds an OCI image whose single layer
# is what ROOTFS_FN DIR puts into DIR, with umoci; prints the path of the archive.
# The archive is cached by a hash of this file, the rootfs function and its inputs
# (IMAGE_INPUTS, a list of files).
_oci_archive() {
  local name="$1" tag="$2" fn="$3"
  shift 3
  local key
  key="$({
    cat "${BASH_SOURCE[0]}"
    declare -f "$fn"
    printf '%s\n' "$@"
    local f
    for f in "${IMAGE_INPUTS[@]}"; do sha256sum "$f" 2>/dev/null || echo "$f"; done
  } | sha256sum | cut -c1-16)"
  local out="$IMAGE_CACHE/$name-$tag-$key.tar"
  if [ -s "$out" ]; then
    printf '%s\n' "$out"
    return 0
  fi
  command -v umoci >/dev/null || die "umoci is not installed (scripts/setup.sh --cluster)"
  local work
  work="$(mktemp -d "$IMAGE_CACHE/.build-$name.XXXXXX")"
  umoci init --layout "$work/oci" >&2
  umoci new --image "$work/oci:$tag" >&2
  umoci unpack --image "$work/oci:$tag" "$work/bundle" >&2
  "$fn" "$work/bundle/rootfs" >&2
  umoci repack --image "$work/oci:$tag" "$work/bundle" >&2
  umoci config --image "$work/oci:$tag" --author=ingressx --os=linux --architecture=amd64 "$@" >&2
  umoci gc --layout "$work/oci" >&2
  tar -C "$work/oci" -cf "$out.tmp" .
  mv "$out.tmp" "$out"
  rm -rf -- "$work"
  # Older builds of the same image are of no further use.
  find "$IMAGE_CACHE" -maxdepth 1 -name "$name-$tag-*.tar" ! -path "$out" -delete
  printf '%s\n' "$out"
}

_pause_rootfs() {
  local root="$1" src
  src="$(mktemp -d)"
  cat >"$src/pause.c" <<'C'
/* The pod sandbox's init: reaps children, exits on SIGINT/SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void down(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, NULL, WNOHANG) > 0) {} }

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-v") == 0) { puts("ingressx-pause 3.10"); return 0; }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = down;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sa.sa_handler = reap;
  sa.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  for (;;) pause();
}
C
  gcc -static -Os -s -o "$root/pause" "$src/pause.c" || die "could not compile the pause program (gcc -static)"
  rm -rf -- "$src"
}

# _copy_bin ROOT BIN : BIN and the shared libraries it links against, at their real paths.
_copy_bin() {
  local root="$1" bin="$2" lib
  mkdir -p "$root$(dirname "$bin")"
  cp -L "$bin" "$root$bin"
  while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    [ -e "$root$lib" ] || cp -L "$lib" "$root$lib"
  done < <({ ldd "$bin" 2>/dev/null || true; } | grep -o '/[^ ]*' | sort -u)
}

# _base_rootfs ROOT : busybox (sh, nslookup, wget, nc, ...), users, /tmp.
_base_rootfs() {
  local root="$1" f
  mkdir -p "$root"/{bin,etc,tmp,run,proc,sys,dev,var/log}
  chmod 1777 "$root/tmp"
  _copy_bin "$root" /bin/busybox
  for f in $(/bin/busybox --list); do
    [ -e "$root/bin/$f" ] || ln -s busybox "$root/bin/$f"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/false\nhaproxy:x:101:101:haproxy:/var/lib/haproxy:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nwww-data:x:33:\nhaproxy:x:101:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
}

_nginx_rootfs() {
  local root="$1"
  _base_rootfs "$root"
  mkdir -p "$root"/{etc/nginx,var/lib/nginx,var/log/nginx,usr/share/nginx/html}
  _copy_bin "$root" /usr/sbin/nginx
  cp /usr/share/nginx/html/index.html "$root/usr/share/nginx/html/" 2>/dev/null ||
    echo '<h1>ingressx nginx</h1>' >"$root/usr/share/nginx/html/index.html"
  cp /etc/nginx/mime.types "$root/etc/nginx/"
  cat >"$root/etc/nginx/nginx.conf" <<'NGINX'
# ingressx dev proxy image: Debian's nginx, stub_status on /nginx_status.
daemon off;
worker_processes 1;
user www-data;
pid /run/nginx.pid;
error_log stderr notice;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  access_log /dev/stdout;
  server {
    listen 80 default_server;
    location = /nginx_status { stub_status; }
    location = /healthz { return 200 "ok\n"; }
    location / {
      default_type text/plain;
      return 200 "ingressx-nginx $hostname\n";
    }
  }
}
NGINX
  # The image's version, for configs that include it where add_header is allowed.
  echo 'add_header X-Edge-Image dev always;' >"$root/etc/nginx/edge-image.conf"
}

# nginx:v2, the upgrade of the demo: nginx:dev that says X-Edge-Image: v2.
_nginx_v2_rootfs() {
  _nginx_rootfs "$1"
  echo 'add_header X-Edge-Image v2 always;' >"$1/etc/nginx/edge-image.conf"
}

_haproxy_rootfs() {
  local root="$1"
  _base_rootfs "$root"
  mkdir -p "$root"/{etc/haproxy,var/lib/haproxy,run/haproxy}
  _copy_bin "$root" /usr/sbin/haproxy
  cat >"$root/etc/haproxy/haproxy.cfg" <<'HAPROXY'
# ingressx dev proxy image: Debian's HAProxy; stats on :8404/stats.
global
  log stdout format raw local0
  user haproxy
  group haproxy
  stats socket /run/haproxy/admin.sock mode 660 level admin expose-fd listeners
defaults
  mode http
  log global
  option httplog
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend stats
  bind :8404
  stats enable
  stats uri /stats
  http-request return status 200 content-type text/plain string "ok\n" if { path /healthz }
frontend http
  bind :80
  http-request return status 200 content-type text/plain lf-string "ingressx-haproxy %[hostname]\n"
HAPROXY
}

_busybox_rootfs() { _base_rootfs "$1"; }

_fortio_rootfs() {
  _base_rootfs "$1"
  mkdir -p "$1/usr/bin"
  cp "$FORTIO_BIN/fortio" "$1/usr/bin/fortio"
}

# _install_bin ROOT BIN NAME : BIN (and its shared libraries, at their real paths) as
# /usr/local/bin/NAME.
_install_bin() {
  local root="$1" bin="$2" name="$3"
  _copy_bin "$root" "$bin"
  mkdir -p "$root/usr/local/bin"
  mv "$root$bin" "$root/usr/local/bin/$name"
}

# The ingressx image: the static preStop hook (the operator's injected init container
# copies /usr/local/bin/ingressx-hook into proxy pods) and, when built, the operator and
# the kubectl plugin, which are dynamically linked (libcurl, OpenSSL, ...: _copy_bin puts
# every library ldd names into the image). CA certificates for TLS to anything but the
# apiserver (whose CA comes from the service account).
_ingressx_rootfs() {
  _base_rootfs "$1"
  _install_bin "$1" "$HOOK_BIN" ingressx-hook
  [ -z "${OPERATOR_BIN:-}" ] || _install_bin "$1" "$OPERATOR_BIN" ingressx-operator
  [ -z "${PLUGIN_BIN:-}" ] || _install_bin "$1" "$PLUGIN_BIN" kubectl-ingressx
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$1/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$1/etc/ssl/certs/"
  fi
  # The binaries' build directories, now empty, go (a library of the build tree that a
  # binary links against stays, at its path, where the binary's RUNPATH finds it).
  local b d
  for b in "$HOOK_BIN" "${OPERATOR_BIN:-}" "${PLUGIN_BIN:-}"; do
    [ -n "$b" ] || continue
    d="$(dirname "$b")"
    while [ "$d" != / ] && [ -d "$1$d" ] && rmdir "$1$d" 2>/dev/null; do d="$(dirname "$d")"; done
  done
  return 0
}

# ingressx_binaries [build] : sets OPERATOR_BIN and PLUGIN_BIN, the ingressx-operator
# and kubectl-ingressx to put into the ingressx image next to the hook:
# $INGRESSX_OPERATOR_BIN / $INGRESSX_PLUGIN_BIN, else $INGRESSX_BUILD_DIR (default
# build/dev)/operator/ingressx-operator and .../cli/kubectl-ingressx, built there first
# with "build" (dev/cluster images). Either is left empty (and out of the image, with a
# message) when there is no such binary.
ingressx_binaries() {
  local b="${INGRESSX_BUILD_DIR:-$ROOT/build/dev}"
  if [ "${1:-}" = build ] && [ -f "$b/CMakeCache.txt" ] && [ -z "${INGRESSX_OPERATOR_BIN:-}${INGRESSX_PLUGIN_BIN:-}" ]; then
    # A failed build does not stop the images (the hook's may be all that is wanted):
    # the binaries already there, if any, go in, with this warning.
    cmake --build "$b" --target ingressx-operator kubectl-ingressx >&2 ||
      log "WARNING: could not build ingressx-operator and kubectl-ingressx in $b; $INGRESSX_IMAGE gets the binaries already there, if any"
  fi
  OPERATOR_BIN="${INGRESSX_OPERATOR_BIN:-$b/operator/ingressx-operator}"
  PLUGIN_BIN="${INGRESSX_PLUGIN_BIN:-$b/cli/kubectl-ingressx}"
  if [ -x "$OPERATOR_BIN" ]; then OPERATOR_BIN="$(realpath "$OPERATOR_BIN")"; else
    log "no ingressx-operator at $OPERATOR_BIN: left out of $INGRESSX_IMAGE"
    OPERATOR_BIN=""
  fi
  if [ -x "$PLUGIN_BIN" ]; then PLUGIN_BIN="$(realpath "$PLUGIN_BIN")"; else
    log "no kubectl-ingressx at $PLUGIN_BIN: left out of $INGRESSX_IMAGE"
    PLUGIN_BIN=""
  fi
  return 0
}

# hook_binary [build] : path of the ingressx-hook to put into the ingressx image:
# $INGRESSX_HOOK_BIN, else $INGRESSX_BUILD_DIR (default build/dev)/hooks/ingressx-hook,
# built there first with "build" (dev/cluster images). Fails when there is none.
hook_binary() {
  if [ -n "${INGRESSX_HOOK_BIN:-}" ]; then
    [ -x "$INGRESSX_HOOK_BIN" ] || die "INGRESSX_HOOK_BIN=$INGRESSX_HOOK_BIN is not executable"
    printf '%s\n' "$INGRESSX_HOOK_BIN"
    return 0
  fi
  local b="${INGRESSX_BUILD_DIR:-$ROOT/build/dev}"
  if [ "${1:-}" = build ] && [ -f "$b/CMakeCache.txt" ]; then
    cmake --build "$b" --target ingressx-hook >&2 || die "could not build ingressx-hook in $b"
  fi
  [ -x "$b/hooks/ingressx-hook" ] || return 1
  printf '%s\n' "$b/hooks/ingressx-hook"
}

# build_images [build] : builds (or reuses) the archives; sets PAUSE_TAR, NGINX_TAR, NGINX_V2_TAR,
# HAPROXY_TAR, BUSYBOX_TAR, FORTIO_TAR and INGRESSX_TAR (empty when there is no
# ingressx-hook; "build" builds it first, see hook_binary).
build_images() {
  mkdir -p -- "$IMAGE_CACHE"
  local t0
  t0="$(now)"
  IMAGE_INPUTS=()
  # shellcheck disable=SC2034
  PAUSE_TAR="$(_oci_archive pause 3.10 _pause_rootfs --config.entrypoint=/pause --config.user=65535:65535)" ||
    die "could not build the pause image"
  IMAGE_INPUTS=(/usr/sbin/nginx /bin/busybox)
  # shellcheck disable=SC2034
  NGINX_TAR="$(_oci_archive nginx dev _nginx_rootfs --config.entrypoint=/usr/sbin/nginx \
    --config.exposedports=80/tcp --config.stopsignal=SIGQUIT)" || die "could not build the nginx image"
  # shellcheck disable=SC2034
  NGINX_V2_TAR="$(_oci_archive nginx v2 _nginx_v2_rootfs --config.entrypoint=/usr/sbin/nginx \
    --config.exposedports=80/tcp --config.stopsignal=SIGQUIT)" || die "could not build the nginx:v2 image"
  # -W master-worker, -db foreground; SIGUSR1 is HAProxy's soft stop.
  IMAGE_INPUTS=(/usr/sbin/haproxy /bin/busybox)
  # shellcheck disable=SC2034
  HAPROXY_TAR="$(_oci_archive haproxy dev _haproxy_rootfs --config.entrypoint=/usr/sbin/haproxy \
    --config.cmd=-W --config.cmd=-db --config.cmd=-f --config.cmd=/etc/haproxy/haproxy.cfg \
    --config.exposedports=80/tcp --config.exposedports=8404/tcp --config.stopsignal=SIGUSR1)" ||
    die "could not build the haproxy image"
  IMAGE_INPUTS=(/bin/busybox)
  # shellcheck disable=SC2034
  BUSYBOX_TAR="$(_oci_archive busybox dev _busybox_rootfs --config.entrypoint=/bin/sh)" ||
    die "could not build the busybox image"
  FORTIO_BIN="$("$ROOT/dev/lib/build-fortio.sh")" || die "could not build fortio (dev/lib/build-fortio.sh)"
  IMAGE_INPUTS=("$FORTIO_BIN/fortio" /bin/busybox)
  # shellcheck disable=SC2034
  FORTIO_TAR="$(_oci_archive fortio dev _fortio_rootfs --config.entrypoint=/usr/bin/fortio \
    --config.cmd=server --config.cmd=-http-port --config.cmd=8080 \
    --config.exposedports=8080/tcp)" || die "could not build the fortio image"
  INGRESSX_TAR=""
  if HOOK_BIN="$(hook_binary "${1:-}")"; then
    HOOK_BIN="$(realpath "$HOOK_BIN")"
    ingressx_binaries "${1:-}"
    IMAGE_INPUTS=("$HOOK_BIN" /bin/busybox /etc/ssl/certs/ca-certificates.crt)
    [ -z "$OPERATOR_BIN" ] || IMAGE_INPUTS+=("$OPERATOR_BIN")
    [ -z "$PLUGIN_BIN" ] || IMAGE_INPUTS+=("$PLUGIN_BIN")
    INGRESSX_TAR="$(_oci_archive ingressx dev _ingressx_rootfs \
      --config.entrypoint=/usr/local/bin/ingressx-hook)" || die "could not build the ingressx image"
  else
    log "no ingressx-hook binary (build one, or set INGRESSX_BUILD_DIR / INGRESSX_HOOK_BIN): no $INGRESSX_IMAGE"
  fi
  log "images ready in $(elapsed "$t0") ($IMAGE_CACHE)"
}

# import_image TAR NAME : imports an archive into containerd's k8s.io namespace as NAME.
import_image() {
  local tar="$1" name="$2"
  ctr --address "$CONTAINERD_SOCK" -n k8s.io images import --base-name "${name%:*}" "$tar" >/dev/null ||
    die "could not import $tar as $name"
  local names # (not a pipe into grep -q: with pipefail, ctr's SIGPIPE would fail it)
  names="$(ctr --address "$CONTAINERD_SOCK" -n k8s.io images ls -q)"
  grep -qx -- "$name" <<<"$names" || die "imported $tar but containerd has no image $name"
}

# import_images : imports every archive build_images made; prints the image names.
import_images() {
  import_image "$PAUSE_TAR" "$PAUSE_IMAGE"
  import_image "$NGINX_TAR" "$NGINX_IMAGE"
  import_image "$NGINX_V2_TAR" "$NGINX_V2_IMAGE"
  import_image "$HAPROXY_TAR" "$HAPROXY_IMAGE"
  import_image "$BUSYBOX_TAR" "$BUSYBOX_IMAGE"
  import_image "$FORTIO_TAR" "$FORTIO_IMAGE"
  local names="$PAUSE_IMAGE $NGINX_IMAGE $NGINX_V2_IMAGE $HAPROXY_IMAGE $BUSYBOX_IMAGE $FORTIO_IMAGE"
  if [ -n "$INGRESSX_TAR" ]; then
    import_image "$INGRESSX_TAR" "$INGRESSX_IMAGE"
    names="$names $INGRESSX_IMAGE"
  fi
  printf '%s\n' "$names"
}
