#!/usr/bin/env bash
# On pod delete the kubelet runs the preStop exec hook, then sends SIGTERM (the image's
# default stop signal) once the hook has finished, within terminationGracePeriodSeconds.
# Hook and container append "EVENT UPTIME" lines to a hostPath file below the cluster dir;
# /proc/uptime is the same clock on the host and in the container.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_namespace
HOOK_S=3 GRACE_S=15
out="$INGRESSX_CLUSTER_DIR/volumes/e2e-$NS"
e2e_cleanup_dir "$out"
rm -rf -- "$out"
mkdir -p -- "$out"
k apply -f - >/dev/null <<YAML || fail "could not create the pod"
apiVersion: v1
kind: Pod
metadata: {name: prestop}
spec:
  terminationGracePeriodSeconds: $GRACE_S
  volumes: [{name: out, hostPath: {path: $out, type: Directory}}]
  containers:
  - name: main
    image: $INGRESSX_BUSYBOX_IMAGE
    imagePullPolicy: Never
    command: [/bin/sh, -c]
    args:
    - trap 'echo "signal-TERM \$(cut -d" " -f1 /proc/uptime)" >>/out/log; exit 0' TERM;
      trap 'echo "signal-QUIT \$(cut -d" " -f1 /proc/uptime)" >>/out/log; exit 0' QUIT;
      echo "started \$(cut -d" " -f1 /proc/uptime)" >>/out/log;
      while true; do sleep 0.1; done
    volumeMounts: [{name: out, mountPath: /out}]
    lifecycle:
      preStop:
        exec:
          command: [/bin/sh, -c, 'echo "prestop-begin \$(cut -d" " -f1 /proc/uptime)" >>/out/log; sleep $HOOK_S; echo "prestop-end \$(cut -d" " -f1 /proc/uptime)" >>/out/log']
YAML
k wait --for=condition=Ready pod/prestop --timeout=60s >/dev/null || fail "pod prestop not Ready in 60 s"
grep -q '^started ' "$out/log" 2>/dev/null || fail "the container did not write $out/log"
ok "pod prestop running (grace ${GRACE_S}s, hook sleeps ${HOOK_S}s)"

t_del="$(uptime_s)"
k delete pod prestop --wait=true --timeout=60s >/dev/null || fail "pod prestop not gone 60 s after delete"
t_gone="$(uptime_s)"
echo "--- $out/log (delete issued at $t_del, pod gone at $t_gone)"
cat "$out/log"

# Prints a verdict line and exits non-zero with the reason when a bound is broken.
awk -v del="$t_del" -v gone="$t_gone" -v hook="$HOOK_S" -v grace="$GRACE_S" '
  { t[$1] = $2; if ($1 ~ /^signal-/) { sig = $1; ts = $2; n++ } }
  END {
    if (!("prestop-begin" in t)) { print "the preStop hook never ran (no prestop-begin)"; exit 1 }
    if (!("prestop-end" in t)) { print "the preStop hook did not finish (no prestop-end)"; exit 1 }
    if (n == 0) { print "the container got no stop signal (no signal-* line)"; exit 1 }
    if (sig != "signal-TERM") { print "the stop signal was " sig ", want signal-TERM"; exit 1 }
    b = t["prestop-begin"] - del; h = t["prestop-end"] - t["prestop-begin"]; s = ts - t["prestop-end"]
    printf "preStop began %.2fs after the delete and ran %.2fs; SIGTERM %.2fs after the hook ended; pod gone %.2fs after the delete\n", b, h, s, gone - del
    if (b < 0 || b > 5) { print "the hook did not start within 5 s of the delete"; exit 1 }
    if (h < hook - 0.2) { print "the hook was cut short"; exit 1 }
    if (s < 0) { print "SIGTERM arrived before the preStop hook finished"; exit 1 }
    if (s > 2) { print "SIGTERM came more than 2 s after the hook finished"; exit 1 }
    if (ts - del > grace) { print "SIGTERM came after the grace period"; exit 1 }
  }' "$out/log" || fail "preStop/SIGTERM ordering or timing is wrong (see above)"
ok "preStop hook ran to completion, then SIGTERM, within the grace period"
