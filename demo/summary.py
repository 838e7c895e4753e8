#!/usr/bin/env python3
"""Figures of the demo's and the benchmark's runs (scripts/demo.sh, bench/rollout-matrix.sh).

  summary.py phase DIR PHASE FRONTEND WALL [FR_JSON]
      One run as JSON on stdout: the fortio results DIR/load-PHASE-{short,slow,long}.json,
      the front door's log DIR/frontdoor-PHASE.log (lines of FRONTEND only), the wall
      time WALL (s) and, when given, the FleetRollout (kubectl get fr -o json) with its
      steps and drains.
  summary.py table DIR JSON_FILE LABEL...
      A Markdown table of the runs in JSON_FILE (a JSON list, in that order), one column
      per run, headed LABEL...; then the FleetRollouts' steps.
"""
import json
import os
import sys
from datetime import datetime

LOADS = ("short", "slow", "long")


def load(d, phase, name):
    try:
        r = json.load(open(os.path.join(d, "load-%s-%s.json" % (phase, name))))
    except (OSError, ValueError):
        return None
    codes = {int(k): v for k, v in (r.get("RetCodes") or {}).items()}
    pct = {p["Percentile"]: p["Value"] for p in r["DurationHistogram"].get("Percentiles") or []}
    return {
        "requests": r["DurationHistogram"]["Count"],
        "ok": sum(v for k, v in codes.items() if 200 <= k < 300),
        "non2xx": sum(v for k, v in codes.items() if k > 0 and not 200 <= k < 300),
        "errors": sum(v for k, v in codes.items() if k <= 0),
        "p50_ms": round(1000 * pct[50], 1) if 50 in pct else None,
        "p99_ms": round(1000 * pct[99], 1) if 99 in pct else None,
        "max_ms": round(1000 * r["DurationHistogram"].get("Max", 0), 1),
        "seconds": round(r["ActualDuration"] / 1e9, 1),
    }


def frontdoor(d, phase, frontend):
    """HAProxy's httplog lines (raw): client [date] frontend backend/server
    Tq/Tw/Tc/Tr/Tt status bytes - - flags actconn/feconn/beconn/srvconn/retries ..."""
    try:
        lines = open(os.path.join(d, "frontdoor-%s.log" % phase)).read().splitlines()
    except OSError:
        return None
    n = retried = bad = stalled = 0
    for line in lines:
        f = line.split()
        if len(f) < 11 or f[2] != frontend or not f[5].isdigit():
            continue
        n += 1
        c = f[10].split("/")
        if len(c) == 5 and c[4].lstrip("+") != "0":
            retried += 1
        t = f[4].split("/")
        if len(t) == 5 and t[2].lstrip("+").isdigit() and int(t[2].lstrip("+")) >= 1000:
            stalled += 1
        if not f[5].startswith("2"):
            bad += 1
    return {"logged": n, "retried": retried, "connect_stalls": stalled, "non2xx": bad}


def ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")) if s else None


def secs(a, b):
    a, b = ts(a), ts(b)
    return round((b - a).total_seconds(), 1) if a and b else None


def rollout(path):
    fr = json.load(open(path))
    st = fr.get("status", {})
    return {
        "name": fr["metadata"]["name"],
        "phase": st.get("phase"),
        "seconds": secs(st.get("startedAt"), st.get("finishedAt")),
        "steps": [{"name": s.get("name"), "phase": s.get("phase"),
                   "seconds": secs(s.get("startedAt"), s.get("finishedAt")),
                   "traffic": " ".join("%s=%s" % (x.get("fleet"), x.get("weight"))
                                       for x in s.get("traffic") or [])}
                  for s in st.get("steps", [])],
        "drains": [{"fleet": x.get("fleet"), "activeConnections": x.get("activeConnections"),
                    "seconds": secs(x.get("startedAt"), x.get("finishedAt")),
                    "decidedBy": x.get("decidedBy")} for x in st.get("drains", []) or []],
    }


def phase(d, name, frontend, wall, fr_json=None):
    loads = {n: load(d, name, n) for n in LOADS}
    tot = {k: sum((l or {}).get(k, 0) for l in loads.values())
           for k in ("requests", "ok", "non2xx", "errors")}
    out = {"phase": name, "wall_seconds": float(wall) if wall else None, "loads": loads,
           "total": tot, "frontdoor": frontdoor(d, name, frontend)}
    if fr_json:
        try:
            out["fleetRollout"] = rollout(fr_json)
        except (OSError, ValueError, KeyError) as e:
            out["fleetRollout"] = {"error": str(e)}
    return out


def table(runs, labels):
    def failed(r, n):
        l = r["loads"].get(n)
        return "%d of %d" % (l["non2xx"] + l["errors"], l["requests"]) if l else "-"

    def fd(r, k):
        return str(r["frontdoor"][k]) if r.get("frontdoor") else "?"

    def short_lat(r):
        l = r["loads"].get("short")
        return "%s / %s ms" % (l["p99_ms"], l["max_ms"]) if l else "-"

    rows = [
        ("upgrade wall time", lambda r: "%g s" % r["wall_seconds"] if r["wall_seconds"] is not None else "-"),
        ("requests", lambda r: str(r["total"]["requests"])),
        ("  answered 2xx", lambda r: str(r["total"]["ok"])),
        ("  non-2xx", lambda r: str(r["total"]["non2xx"])),
        ("  transport errors", lambda r: str(r["total"]["errors"])),
        ("short requests failed", lambda r: failed(r, "short")),
        ("slow (1 s) requests failed", lambda r: failed(r, "slow")),
        ("long-lived (20 s) streams cut", lambda r: failed(r, "long")),
        ("short p99 / max latency", short_lat),
        ("retried by the front door", lambda r: fd(r, "retried")),
        ("waited >= 1 s to connect", lambda r: fd(r, "connect_stalls")),
    ]
    w = max(len(l) for l, _ in rows)
    cw = [max(len(lb), 12) for lb in labels]
    md = ["| %s | %s |" % ("".ljust(w), " | ".join(lb.ljust(c) for lb, c in zip(labels, cw))),
          "|%s|%s" % ("-" * (w + 2), "".join("%s|" % ("-" * (c + 2)) for c in cw))]
    for label, f in rows:
        md.append("| %s | %s |" % (label.ljust(w), " | ".join(f(r).rjust(c) for r, c in zip(runs, cw))))
    for r, lb in zip(runs, labels):
        fr = r.get("fleetRollout")
        if not fr or "steps" not in fr:
            continue
        md.append("")
        md.append("%s: FleetRollout %s %s in %s s (status.startedAt .. finishedAt)"
                  % (lb, fr["name"], fr["phase"], fr["seconds"]))
        for s in fr["steps"]:
            md.append("  %-20s %-10s %7s  %s" % (s["name"], s["phase"],
                      "%.0fs" % s["seconds"] if s["seconds"] is not None else "-", s["traffic"]))
        for x in fr["drains"]:
            md.append("  drain %s: %s s, %s connections left, decided by %s"
                      % (x["fleet"], x["seconds"], x["activeConnections"], x["decidedBy"]))
    return "\n".join(md)


def main():
    if len(sys.argv) >= 6 and sys.argv[1] == "phase":
        print(json.dumps(phase(*sys.argv[2:7]), indent=2))
    elif len(sys.argv) >= 4 and sys.argv[1] == "table":
        runs = json.load(open(sys.argv[3]))
        print(table(runs, sys.argv[4:] or [r["phase"] for r in runs]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
