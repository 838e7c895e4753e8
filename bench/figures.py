#!/usr/bin/env python3
"""Figures, table and plot of bench/rollout-matrix.sh (builds on demo/summary.py).

  figures.py run DIR NAME FRONTEND WALL T0 [--kind K] [--keepalive on|off] [--fr FR_JSON]
                 [--pf PF_JSON] [--marks FILE] [--operator OP_JSON] [--rollout-end EPOCH]
                 [--no-frontdoor]
      One run as JSON on stdout: demo/summary.py's figures of the run (fortio results,
      the front door's log, the FleetRollout) plus errors by kind, the rollout time and
      its floor, the operator's CPU and peak RSS, the rollout's marks (FleetRollout steps,
      or MARKS: lines "EPOCH LABEL") and a per-second time series, written to
      DIR/series-NAME.dat (seconds from T0, the moment the upgrade command started).
  figures.py table RESULTS_JSON LABEL...
      The Markdown table of the runs (a JSON list), one column per run; then the
      FleetRollouts' steps.
  figures.py compact RESULTS_JSON LABEL...
      A shorter table, one row per run (the README's).
  figures.py plot RESULTS_JSON PNG LABEL...
      One PNG (gnuplot, pngcairo): per run, requests answered per second, failed requests
      per second and front-door retries per second, the rollout's steps as vertical lines.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone

sys.dont_write_bytecode = True  # no __pycache__ in demo/
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "demo"))
import summary  # noqa: E402  (demo/summary.py)

LOADS = summary.LOADS


def ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() if s else None


def duration(v):
    total = 0.0
    for num, unit in re.findall(r"([0-9.]+)(ms|s|m|h)", v or "0s"):
        total += float(num) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def code_ok(c):
    return 200 <= c < 300


# ---------------------------------------------------------------- one run
def fortio_codes(d, name):
    """RetCodes of the three clients together: {code: count} (code -1: transport error)."""
    codes = Counter()
    for n in LOADS:
        try:
            r = json.load(open(os.path.join(d, "load-%s-%s.json" % (name, n))))
        except (OSError, ValueError):
            continue
        for k, v in (r.get("RetCodes") or {}).items():
            codes[int(k)] += v
    return codes


def access_log(d, name):
    """[(end_epoch, load, status)] from fortio's access logs (start timestamp + latency)."""
    out = []
    for n in LOADS:
        try:
            f = open(os.path.join(d, "access-%s-%s.jsonl" % (name, n)))
        except OSError:
            continue
        for line in f:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            try:
                st = int(r.get("details"))
            except (TypeError, ValueError):
                st = -1
            out.append((r["timestamp"] / 1e9 + float(r.get("latency") or 0), n, st))
    return out


HAPROXY_DATE = re.compile(r"^\[(\d+/\w+/\d+:\d+:\d+:\d+\.\d+)\]$")


def frontdoor_lines(d, name, frontend):
    """HAProxy httplog lines of FRONTEND: (end_epoch, status, termination state, retries)."""
    try:
        lines = open(os.path.join(d, "frontdoor-%s.log" % name)).read().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        f = line.split()
        if len(f) < 11 or f[2] != frontend:
            continue
        m = HAPROXY_DATE.match(f[1])
        if not m:
            continue
        t = datetime.strptime(m.group(1), "%d/%b/%Y:%H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()
        tt = f[4].split("/")
        if len(tt) == 5 and tt[4].lstrip("+-").isdigit():
            t += max(0, int(tt[4].lstrip("+"))) / 1000.0
        c = f[10].split("/")
        retries = int(c[4].lstrip("+")) if len(c) == 5 and c[4].lstrip("+").isdigit() else 0
        status = int(f[5]) if f[5].lstrip("-").isdigit() else -1
        out.append((t, status, f[9], retries))
    return out


def floor_of(fr, pf):
    """The FleetRollout's floor: what it cannot be faster than with its configuration --
    the configured pauses of every traffic shift, the fleet's minimum drain per drain, the
    pod start-up it waited for (provision-*/upgrade-* steps: measured) and BlueGreen's
    scaleDownDelay (tests/e2e/operator_lib.sh, opx_figures)."""
    st, spec = fr.get("status", {}), fr.get("spec", {})
    cut = spec.get("cutover") or (pf or {}).get("spec", {}).get("cutover") or {}
    strat = spec.get("strategy") or (pf or {}).get("spec", {}).get("strategy") or {}
    typ = strat.get("type", "TempFleet")
    shifts = 2 if typ == "TempFleet" else 1
    pauses = sum(duration(s.get("pause")) for s in cut.get("steps", []))
    startup = 0.0
    for s in st.get("steps", []):
        if s.get("name", "").startswith(("provision-", "upgrade-")) and s.get("finishedAt"):
            startup += ts(s["finishedAt"]) - ts(s["startedAt"])
    drain = ((pf or {}).get("spec", {}).get("proxy") or {}).get("drain") or {}
    min_drain = duration(drain.get("minDrain", "0s"))
    if cut.get("type") == "dns":
        # a drain after a DNS move lasts at least the record's TTL (docs/cutover.md)
        ttl = ((cut.get("dns") or {}).get("rfc2136") or {}).get("ttl", 30)
        min_drain = max(min_drain, float(ttl))
    n_drains = len(st.get("drains") or [])
    scale_down = duration(strat.get("scaleDownDelay")) if shifts == 1 else 0.0
    return {"seconds": round(pauses * shifts + min_drain * n_drains + startup + scale_down, 1),
            "pauses": pauses * shifts, "min_drains": min_drain * n_drains,
            "pod_startup": round(startup, 1), "scale_down_delay": scale_down}


SHORT = [("provision-", "provision"), ("shift-to-temp/", "to temp "), ("shift-back/", "back "),
         ("shift/", "shift "), ("upgrade-", "upgrade"), ("verify-", "verify"),
         ("drain-temp", "drain temp"), ("drain-", "drain"), ("delete-", "delete"), ("scale-down-", "scale down")]


def step_marks(fr, t0):
    """The FleetRollout's steps, short: provision, to temp N (the Nth traffic step towards
    the temporary fleet), drain, upgrade, verify, back N, drain temp, delete; BlueGreen:
    provision, verify, shift N, drain, scale down; and done (finishedAt)."""
    marks = []
    for s in fr.get("status", {}).get("steps", []):
        if s.get("phase") == "Skipped" or not s.get("startedAt"):
            continue
        label = s["name"]
        for a, b in SHORT:
            if label.startswith(a):
                label = b + (label[len(a):] if b.endswith(" ") else "")
                break
        marks.append([round(ts(s["startedAt"]) - t0, 1), label])
    fin = fr.get("status", {}).get("finishedAt")
    if fin:
        marks.append([round(ts(fin) - t0, 1), "done"])
    return marks


def series(d, name, t0, acc, fd):
    """DIR/series-NAME.dat: second (from T0), answered 2xx, failed (non-2xx or transport
    error, client side), retried by the front door -- each by the second it ended in."""
    ok, bad, retr = Counter(), Counter(), Counter()
    for t, _, st in acc:
        (ok if code_ok(st) else bad)[math.floor(t - t0)] += 1
    for t, _, _, r in fd:
        if r:
            retr[math.floor(t - t0)] += 1
    keys = set(ok) | set(bad) | set(retr)
    path = os.path.join(d, "series-%s.dat" % name)
    with open(path, "w") as f:
        f.write("# second_from_upgrade_start answered_2xx failed frontdoor_retried\n")
        if keys:
            for s in range(min(keys), max(keys) + 1):
                f.write("%d %d %d %d\n" % (s, ok[s], bad[s], retr[s]))
    return path


def run(a):
    t0 = float(a.T0)
    out = summary.phase(a.DIR, a.NAME, a.FRONTEND, a.WALL, a.fr)
    out["kind"], out["keepalive"], out["t0"] = a.kind, a.keepalive, t0
    codes = fortio_codes(a.DIR, a.NAME)
    fd = [] if a.no_frontdoor else frontdoor_lines(a.DIR, a.NAME, a.FRONTEND)
    term = Counter(x[2][:2] for x in fd if x[2][:2] != "--")
    fd_codes = Counter(x[1] for x in fd if not code_ok(x[1]))
    out["errors_by_kind"] = {
        "non2xx": {str(k): v for k, v in sorted(codes.items()) if k > 0 and not code_ok(k)},
        "transport": sum(v for k, v in codes.items() if k <= 0),
        "frontdoor_non2xx": None if a.no_frontdoor else {str(k): v for k, v in sorted(fd_codes.items())},
        "frontdoor_terminations": None if a.no_frontdoor else dict(sorted(term.items())),
    }
    if a.no_frontdoor:
        out["frontdoor"] = None
    acc = access_log(a.DIR, a.NAME)
    out["access_logged"] = len(acc)
    out["series"] = os.path.basename(series(a.DIR, a.NAME, t0, acc, fd))
    fr = pf = None
    if a.fr:
        try:
            fr = json.load(open(a.fr))
        except (OSError, ValueError):
            fr = None
    if a.pf:
        try:
            pf = json.load(open(a.pf))
        except (OSError, ValueError):
            pf = None
    marks = []
    ro = {"seconds": None, "floor": None}
    if fr:
        st = fr.get("status", {})
        if st.get("startedAt") and st.get("finishedAt"):
            ro["seconds"] = round(ts(st["finishedAt"]) - ts(st["startedAt"]), 1)
            ro["measured"] = "FleetRollout status.startedAt .. finishedAt"
        ro["floor"] = floor_of(fr, pf)
        marks = step_marks(fr, t0)
    else:
        if a.rollout_end:
            ro["seconds"] = round(float(a.rollout_end) - t0, 1)
            ro["measured"] = "patch .. the last old pod gone"
        marks.insert(0, [0.0, "patch"])
    if a.marks and os.path.exists(a.marks):
        for line in open(a.marks):
            p = line.strip().split(None, 1)
            if len(p) == 2:
                marks.append([round(float(p[0]) - t0, 1), p[1]])
    out["rollout"] = ro
    out["marks"] = sorted(marks, key=lambda m: m[0])
    if a.operator:
        try:
            out["operator"] = json.load(open(a.operator))
        except (OSError, ValueError) as e:
            out["operator"] = {"error": str(e)}
    print(json.dumps(out, indent=2))


# ---------------------------------------------------------------- table
def leader(r):
    op = r.get("operator") or {}
    pods = op.get("pods") or []
    lead = [p for p in pods if p.get("leader")]
    return (lead or pods or [None])[0]


def table(runs, labels):
    def failed(r, n):
        l = r["loads"].get(n)
        return "%d of %d" % (l["non2xx"] + l["errors"], l["requests"]) if l else "-"

    def fd(r, k):
        return str(r["frontdoor"][k]) if r.get("frontdoor") else "n/a"

    def non2xx(r):
        e = (r.get("errors_by_kind") or {}).get("non2xx") or {}
        n = r["total"]["non2xx"]
        return "%d (%s)" % (n, ", ".join("%s: %d" % kv for kv in e.items())) if n and e else str(n)

    def terms(r):
        t = (r.get("errors_by_kind") or {}).get("frontdoor_terminations")
        if t is None:
            return "n/a"
        return ", ".join("%s %d" % kv for kv in t.items()) if t else "0"

    def rollout(r):
        ro = r.get("rollout") or {}
        s, f = ro.get("seconds"), ro.get("floor")
        if s is None:
            return "-"
        return "%g s / %g s" % (s, f["seconds"]) if f else "%g s / -" % s

    def cpu(r):
        p = leader(r)
        return "%.2f s" % p["cpu_seconds"] if p and p.get("cpu_seconds") is not None else "-"

    def rss(r):
        p = leader(r)
        return "%.1f MiB" % (p["peak_rss_kib"] / 1024) if p and p.get("peak_rss_kib") else "-"

    def short_lat(r):
        l = r["loads"].get("short")
        return "%s / %s ms" % (l["p99_ms"], l["max_ms"]) if l else "-"

    rows = [
        ("upgrade command wall time", lambda r: "%g s" % r["wall_seconds"] if r["wall_seconds"] is not None else "-"),
        ("rollout time / its floor", rollout),
        ("requests", lambda r: str(r["total"]["requests"])),
        ("  answered 2xx", lambda r: str(r["total"]["ok"])),
        ("  non-2xx (by status)", non2xx),
        ("  transport errors", lambda r: str(r["total"]["errors"])),
        ("short requests failed", lambda r: failed(r, "short")),
        ("slow (1 s) requests failed", lambda r: failed(r, "slow")),
        ("long-lived (20 s) streams cut", lambda r: failed(r, "long")),
        ("short p99 / max latency", short_lat),
        ("retried by the front door", lambda r: fd(r, "retried")),
        ("waited >= 1 s to connect", lambda r: fd(r, "connect_stalls")),
        ("front door abnormal ends", terms),
        ("operator CPU (leader)", cpu),
        ("operator peak RSS (leader)", rss),
    ]
    w = max(len(l) for l, _ in rows)
    cw = [max([len(lb), 12] + [len(f(r)) for _, f in rows]) for r, lb in zip(runs, labels)]
    md = ["| %s | %s |" % ("".ljust(w), " | ".join(lb.ljust(c) for lb, c in zip(labels, cw))),
          "|%s|%s" % ("-" * (w + 2), "".join("%s|" % ("-" * (c + 2)) for c in cw))]
    for label, f in rows:
        md.append("| %s | %s |" % (label.ljust(w), " | ".join(f(r).rjust(c) for r, c in zip(runs, cw))))
    md.append("")
    for r, lb in zip(runs, labels):
        fr = r.get("fleetRollout")
        if not fr or "steps" not in fr:
            continue
        fl = (r.get("rollout") or {}).get("floor") or {}
        md.append("%s: FleetRollout %s %s in %s s; floor %s s = pauses %g + min drains %g + pod start-up %g + scale-down delay %g"
                  % (lb, fr["name"], fr["phase"], fr["seconds"], fl.get("seconds"), fl.get("pauses", 0),
                     fl.get("min_drains", 0), fl.get("pod_startup", 0), fl.get("scale_down_delay", 0)))
        md.append("")
        md.append("    " + "; ".join("%s %s" % (s["name"], "%.0fs" % s["seconds"] if s["seconds"] is not None else s["phase"])
                                     for s in fr["steps"] if s["phase"] != "Skipped"))
        for x in fr["drains"]:
            md.append("    drain %s: %s s, %s connections left, decided by %s"
                      % (x["fleet"], x["seconds"], x["activeConnections"], x["decidedBy"]))
        md.append("")
    for r, lb in zip(runs, labels):
        if r.get("fleetRollout"):
            continue
        ms = r.get("marks") or []
        if ms:
            md.append("%s: %s" % (lb, ", ".join("%s at %gs" % (m[1], m[0]) for m in ms)))
            md.append("")
    return "\n".join(md).rstrip() + "\n"


def compact(runs, labels):
    """One row per run (for the README)."""
    hdr = ["run", "requests", "non-2xx", "transport errors", "streams cut", "front-door retries",
           "rollout / floor", "operator CPU / peak RSS"]
    md = ["| " + " | ".join(hdr) + " |", "|" + "|".join(["---"] + ["---:"] * (len(hdr) - 1)) + "|"]
    for r, lb in zip(runs, labels):
        t, lg = r["total"], r["loads"].get("long") or {}
        ro = r.get("rollout") or {}
        fl = ro.get("floor")
        p = leader(r)
        md.append("| " + " | ".join([
            lb, str(t["requests"]), str(t["non2xx"]), str(t["errors"]),
            "%d of %d" % (lg.get("non2xx", 0) + lg.get("errors", 0), lg.get("requests", 0)),
            str(r["frontdoor"]["retried"]) if r.get("frontdoor") else "n/a",
            ("%g s / %s" % (ro["seconds"], "%g s" % fl["seconds"] if fl else "-")) if ro.get("seconds") is not None else "-",
            "%.2f s / %.1f MiB" % (p["cpu_seconds"], p["peak_rss_kib"] / 1024) if p and p.get("cpu_seconds") is not None and p.get("peak_rss_kib") else "-",
        ]) + " |")
    return "\n".join(md) + "\n"


# ---------------------------------------------------------------- plot
def gp_str(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def plot(runs, labels, png, d):
    cols = 2 if len(runs) > 1 else 1
    rows = (len(runs) + cols - 1) // cols
    xmin, xmax = 0, 10
    for r in runs:
        p = os.path.join(d, r["series"])
        for line in open(p):
            if line.startswith("#"):
                continue
            s = int(line.split()[0])
            xmin, xmax = min(xmin, s), max(xmax, s + 1)
    ymax = 1
    for r in runs:
        for line in open(os.path.join(d, r["series"])):
            if not line.startswith("#"):
                ymax = max(ymax, int(line.split()[1]))
    g = ["set terminal pngcairo size %d,%d font 'sans,8'" % (650 * cols, 60 + rows * 250),
         "set output %s" % gp_str(png),
         "set multiplot layout %d,%d title %s font ',10'" % (rows, cols, gp_str(
             "blue: requests answered 2xx per second (left axis); red: failed requests, orange: front-door retries per second (right axis)\n"
             "x: seconds from the upgrade command; dashed: the rollout's steps (FleetRollout status.steps; baselines: patch, ready, old pods gone); shaded: the rollout")),
         "set xrange [%d:%d]" % (xmin, xmax), "set yrange [0:%d]" % int(ymax * 2.2 + 1),
         "set ytics nomirror", "set y2tics", "set grid xtics ytics lc rgb '#e8e8e8'",
         "set key bottom right horizontal font ',7' opaque samplen 2", "set style fill solid 1.0 noborder",
         "set tmargin 2.5", "set bmargin 2", "set lmargin 6", "set rmargin 5"]
    for r, lb in zip(runs, labels):
        t = r["total"]
        lg = (r["loads"].get("long") or {})
        errs = t["non2xx"] + t["errors"]
        ymax2 = 4
        for line in open(os.path.join(d, r["series"])):
            if not line.startswith("#"):
                f = line.split()
                ymax2 = max(ymax2, int(f[2]), int(f[3]))
        ro = r.get("rollout") or {}
        title = "%s: %d requests, %d failed, %d of %d streams cut" % (
            lb, t["requests"], errs, lg.get("non2xx", 0) + lg.get("errors", 0), lg.get("requests", 0))
        if ro.get("seconds") is not None:
            title += ", rollout %g s" % ro["seconds"]
        g += ["unset arrow", "unset label", "unset object", "set title %s" % gp_str(title),
              "set y2range [0:%d]" % int(ymax2 * 1.2 + 0.999)]
        if ro.get("seconds"):
            g.append("set object rect from 0, graph 0 to %g, graph 1 fc rgb '#f2f2f2' fs solid 1.0 noborder behind" % ro["seconds"])
        # marks less than 0.6 s apart: one label; labels less than 4 s apart: alternately
        # at the top and lower down
        groups = []
        for x, label in r.get("marks") or []:
            if groups and x - groups[-1][0] < 0.6:
                groups[-1][1].append(label)
            else:
                groups.append([x, [label]])
        prev, tier = None, 0
        for x, labels_ in groups:
            tier = 1 - tier if prev is not None and x - prev < 4 else 0
            prev = x
            g.append("set arrow from %g, graph 0 to %g, graph 1 nohead lc rgb '#999999' dt 2" % (x, x))
            g.append("set label %s at %g, graph %g rotate by 90 right font ',7' tc rgb '#333333' offset -0.3,0"
                     % (gp_str(", ".join(labels_)), x, 0.98 if tier == 0 else 0.77))
        g.append("plot %s u 1:2 w steps lw 1 lc rgb '#1f77b4' t '2xx/s', '' u 1:3 axes x1y2 w impulses lw 3 lc rgb '#d62728' t 'failed/s', "
                 "'' u 1:4 axes x1y2 w impulses lw 2 lc rgb '#ff7f0e' t 'retried/s'" % gp_str(os.path.join(d, r["series"])))
    g.append("unset multiplot")
    script = png + ".gp"
    open(script, "w").write("\n".join(g) + "\n")
    subprocess.run(["gnuplot", script], check=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        p = argparse.ArgumentParser(prog="figures.py run")
        for n in ("DIR", "NAME", "FRONTEND", "WALL", "T0"):
            p.add_argument(n)
        for o in ("--kind", "--keepalive", "--fr", "--pf", "--marks", "--operator", "--rollout-end"):
            p.add_argument(o)
        p.add_argument("--no-frontdoor", action="store_true", help="the clients did not go through the front door (DNS)")
        run(p.parse_args(sys.argv[2:]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "table":
        runs = json.load(open(sys.argv[2]))
        sys.stdout.write(table(runs, sys.argv[3:] or [r["phase"] for r in runs]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "compact":
        runs = json.load(open(sys.argv[2]))
        sys.stdout.write(compact(runs, sys.argv[3:] or [r["phase"] for r in runs]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "plot":
        runs = json.load(open(sys.argv[2]))
        plot(runs, sys.argv[4:] or [r["phase"] for r in runs], sys.argv[3], os.path.dirname(os.path.abspath(sys.argv[2])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
