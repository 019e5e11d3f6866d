#!/usr/bin/env python3
"""nanomsg_core's benchmark: ours beside pynng, pyzmq and plain Python sockets.

Runs every selected measure for every available implementation in one run,
implementations interleaved (A B C D, A B C D, ... for --repeat rounds), and
writes a markdown table and plots. See bench/README.md.

  python bench/run.py --quick                 # everything, small (~2 min)
  python bench/run.py --repeat 3              # the full figures
  python bench/run.py --only lat,thr --transport tcp --pin one
  python bench/run.py --ours pure=.venv/bin/python --ours compiled=.venv-compiled/bin/python
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from typing import Any, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import builds  # noqa: E402
import impls  # noqa: E402
import procs  # noqa: E402

MEASURES = ("lat", "thr", "scale-clients", "scale-pub", "scale-subs", "sizes")
TRANSPORTS = ("tcp", "ipc", "inproc")
KiB, MiB = 1024, 1024 * 1024

# per mode: sizes, counts, durations and points of every measure
PROFILES: dict[str, dict[str, Any]] = {
    "full": {"lat_n": 20000, "warmup": 1000, "thr": [(64, 200000), (16 * KiB, 20000)],
             "clients": [1, 10, 100, 1000], "client_procs": 4, "clients_s": 3.0,
             "pub_subs": [1, 10, 100], "pub_procs": 4, "pub_s": 2.0,
             "slow_fast": 4, "slow_size": 4096, "slow_s": 3.0,
             "subs": [10, 1000, 100000], "subs_n": 20000,
             "sizes": [64, KiB, 16 * KiB, 256 * KiB, MiB, 4 * MiB, 16 * MiB, 64 * MiB],
             "sizes_budget": 512 * MiB, "sizes_nmax": 50000, "timeout": 180.0},
    "quick": {"lat_n": 2000, "warmup": 200, "thr": [(64, 20000), (16 * KiB, 2000)],
              "clients": [1, 10, 100], "client_procs": 2, "clients_s": 0.5,
              "pub_subs": [1, 10], "pub_procs": 2, "pub_s": 0.5,
              "slow_fast": 4, "slow_size": 4096, "slow_s": 1.0,
              "subs": [10, 1000, 100000], "subs_n": 2000,
              "sizes": [64, 16 * KiB, MiB, 16 * MiB], "sizes_budget": 32 * MiB,
              "sizes_nmax": 5000, "timeout": 60.0},
    "smoke": {"lat_n": 200, "warmup": 20, "thr": [(64, 200)],
              "clients": [5], "client_procs": 2, "clients_s": 0.2,
              "pub_subs": [2], "pub_procs": 1, "pub_s": 0.2, "slow_fast": 2, "slow_size": 64,
              "slow_s": 0.2, "subs": [10, 1000], "subs_n": 200,
              "sizes": [MiB], "sizes_budget": 2 * MiB,
              "sizes_nmax": 200, "timeout": 30.0},
}

# which implementations can run which measure
SUPPORTS = {"scale-subs": ("ours",)}


def log(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# ---------------------------------------------------------------- children

def child_main(role: str, spec_json: str) -> None:
    import measures
    import scale
    spec = json.loads(spec_json)
    procs.watchdog(spec.get("timeout", 60.0) + 20, role)
    roles = {"worker": measures.role_worker, "echo": measures.role_echo,
             "pusher": measures.role_pusher, "rep_server": scale.role_rep_server,
             "req_clients": scale.role_req_clients, "pub": scale.role_pub,
             "subs": scale.role_subs, "subs_worker": scale.role_subs_worker,
             "identity": builds.role_identity}
    try:
        roles[role](spec)
    except BaseException as e:
        import traceback
        traceback.print_exc()
        sys.stderr.write("%s failed: %r\n" % (role, e))
        sys.stderr.flush()
        os._exit(2)
    sys.stdout.flush()
    os._exit(0)


def in_worker(role: str, spec: dict[str, Any], timeout: float,
              python: Optional[str] = None) -> dict[str, Any]:
    c = procs.Child(role, spec, timeout, python)
    try:
        res: dict[str, Any] = c.result(timeout + 10)
        return res
    finally:
        c.finish(2.0)


# ---------------------------------------------------------------- plan

def plan(a: argparse.Namespace, prof: dict[str, Any]) -> list[dict[str, Any]]:
    """Every point to measure: {measure, transport, size, point, ...}."""
    pts: list[dict[str, Any]] = []
    for m in a.only:
        if m == "lat":
            pts += [{"measure": m, "transport": t, "size": 64, "point": None}
                    for t in a.transport]
        elif m == "thr":
            pts += [{"measure": m, "transport": t, "size": s, "n": n, "point": None}
                    for t in a.transport for s, n in prof["thr"]]
        elif m == "scale-clients":
            pts += [{"measure": m, "transport": "tcp", "size": 64, "point": c}
                    for c in prof["clients"]]
        elif m == "scale-pub":
            pts += [{"measure": m, "transport": "tcp", "size": 64, "point": s}
                    for s in prof["pub_subs"]]
            f, big = prof["slow_fast"], prof["slow_size"]   # without and with a stalled SUB
            if f not in prof["pub_subs"] or big != 64:   # else the plain point is it
                pts.append({"measure": m, "transport": "tcp", "size": big, "point": f,
                            "stalled": False})
            pts.append({"measure": m, "transport": "tcp", "size": big, "point": f,
                        "stalled": True})
        elif m == "scale-subs":
            pts += [{"measure": m, "transport": "memory", "size": 64, "point": n}
                    for n in prof["subs"]]
        elif m == "sizes":
            for t in a.transport:
                if t == "inproc":
                    continue
                for s in prof["sizes"]:
                    n = max(4, min(prof["sizes_nmax"], prof["sizes_budget"] // s))
                    pts.append({"measure": m, "transport": t, "size": s, "n": n,
                                "point": None})
    return pts


def run_point(impl: str, p: dict[str, Any], prof: dict[str, Any],
              a: argparse.Namespace, python: Optional[str] = None) -> dict[str, Any]:
    """One point for one column: *impl* the adapter, *python* the interpreter
    its processes run under (a build of ours; None: this one)."""
    import scale
    t = prof["timeout"]
    m = p["measure"]
    if m == "lat":
        return in_worker("worker", {"measure": "lat", "impl": impl, "transport": p["transport"],
                                    "size": 64, "n": a.n or prof["lat_n"],
                                    "warmup": prof["warmup"]}, t, python)
    if m in ("thr", "sizes"):
        return in_worker("worker", {"measure": m, "impl": impl, "transport": p["transport"],
                                    "size": p["size"], "n": a.n or p["n"]}, t, python)
    if m == "scale-clients":
        return scale.scale_clients(impl, p["point"], prof["client_procs"], prof["clients_s"], t,
                                   python)
    if m == "scale-pub":
        dur = prof["slow_s"] if "stalled" in p else prof["pub_s"]
        return scale.scale_pub(impl, p["point"], prof["pub_procs"], dur, t,
                               stalled=bool(p.get("stalled")), size=p["size"], python=python)
    if m == "scale-subs":
        return in_worker("subs_worker", {"subs": p["point"], "n": prof["subs_n"]}, t, python)
    raise ValueError(m)


def label(p: dict[str, Any]) -> str:
    bits = [p["measure"], p["transport"]]
    if p["measure"] in ("thr", "sizes") or p["size"] != 64:
        bits.append(human_size(p["size"]))
    if p["point"] is not None:
        bits.append("n=%d" % p["point"])
    if p.get("stalled"):
        bits.append("+1 stalled")
    return " ".join(bits)


def human_size(n: int) -> str:
    for unit, f in (("MiB", MiB), ("KiB", KiB)):
        if n >= f and n % f == 0:
            return "%d %s" % (n // f, unit)
    return "%d B" % n


# ---------------------------------------------------------------- main

def parse(argv: Optional[list[str]]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("--quick", action="store_true", help="everything, small (about 2 minutes)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny run for the test suite: ours and raw, tcp and inproc, "
                         "n=200, one round, no files unless --out/--json")
    ap.add_argument("--repeat", type=int, default=None,
                    help="interleaved rounds per point (default 3; quick and smoke 1)")
    ap.add_argument("--only", default=",".join(MEASURES),
                    help="comma list of " + ",".join(MEASURES))
    ap.add_argument("--impl", default=None,
                    help="comma list of %s (default: every one installed)" % ",".join(impls.IMPLS))
    ap.add_argument("--ours", action="append", default=[], metavar="NAME=PYTHON",
                    help="a build of ours to time as a column NAME, its processes run by "
                         "PYTHON (a venv's interpreter); repeatable (default: one build, "
                         "'ours', under this interpreter)")
    ap.add_argument("--section", default=None, metavar="FILE#NAME",
                    help="also write the builds side by side into FILE between "
                         "<!-- bench:NAME --> and <!-- /bench:NAME -->")
    ap.add_argument("--transport", default=None, help="comma list of tcp,ipc,inproc")
    ap.add_argument("--pin", default="none", choices=["none", "one"],
                    help="one: every process and thread on one CPU (CPU cost per message)")
    ap.add_argument("--n", type=int, default=None, help="override n for lat, thr and sizes")
    ap.add_argument("--clients", help="scale-clients points, e.g. 1,10,100,1000")
    ap.add_argument("--pub-subs", help="scale-pub points (SUB connections), e.g. 1,10,100")
    ap.add_argument("--subscriptions", help="scale-subs points, e.g. 10,1000,100000")
    ap.add_argument("--sizes", help="sizes points in bytes, e.g. 64,65536,67108864")
    ap.add_argument("--duration", type=float,
                    help="seconds per scale-clients / scale-pub point")
    ap.add_argument("--out", default=None,
                    help="directory for the markdown table and the plots (default docs/bench; "
                         "'' writes none)")
    ap.add_argument("--json", default=None, help="write every result and ratio as JSON here")
    ap.add_argument("--from-json", default=None, metavar="FILE",
                    help="measure nothing: write the tables, plots and --section of the "
                         "run saved in FILE (by --json)")
    ap.add_argument("--_child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a._child:
        return a
    a.mode = "smoke" if a.smoke else "quick" if a.quick else "full"
    if a.repeat is None:
        a.repeat = 3 if a.mode == "full" else 1
    a.only = [x.strip() for x in a.only.split(",") if x.strip()]
    for x in a.only:
        if x not in MEASURES:
            ap.error("unknown measure %r (have %s)" % (x, ", ".join(MEASURES)))
    if a.transport is None:
        a.transport = "tcp,inproc" if a.smoke else ",".join(TRANSPORTS)
    a.transport = [x.strip() for x in a.transport.split(",") if x.strip()]
    for x in a.transport:
        if x not in TRANSPORTS:
            ap.error("unknown transport %r" % x)
    if a.impl is None:
        a.impl = "ours,raw" if a.smoke else ",".join(impls.IMPLS)
        a.explicit_impl = False
    else:
        a.explicit_impl = True
    a.impl = [x.strip() for x in a.impl.split(",") if x.strip()]
    for x in a.impl:
        if x not in impls.IMPLS:
            ap.error("unknown implementation %r" % x)
    try:
        a.builds = builds.parse_specs(a.ours)
        if a.section:
            builds.check_section(a.section)
    except builds.BuildError as e:
        ap.error(str(e))
    if a.out is None:
        a.out = ("" if a.smoke or a.from_json
                 else os.path.join(os.path.dirname(HERE), "docs", "bench"))
    return a


def identities(specs: list[tuple[str, str]],
               notes: list[str]) -> dict[str, dict[str, Any]]:
    """Each build's identity, asked of its own interpreter; a build that
    cannot import nanomsg_core is left out, with a note."""
    out = {}
    for name, python in specs:
        c = procs.Child("identity", {}, 60.0, python)
        try:
            out[name] = c.result(90.0)
        except procs.ChildError as e:
            notes.append("%s skipped: nanomsg_core not importable (%s)" % (name, str(e)[-200:]))
            log("bench: " + notes[-1])
        finally:
            c.finish(2.0)
    return out


def versions(names: list[str]) -> dict[str, str]:
    """Each implementation's version, asked of a child (nothing loaded here)."""
    code = ("import json, sys; sys.path.insert(0, %r); import impls; "
            "print(json.dumps({i: impls.version(i) for i in %r}))" % (HERE, names))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    try:
        out: dict[str, str] = json.loads(r.stdout)
        return out
    except ValueError:
        log("bench: versions unknown: " + r.stderr.strip()[-300:])
        return {i: "?" for i in names}


def main(argv: Optional[list[str]] = None) -> int:
    a = parse(argv)
    if a._child:
        child_main(*a._child)
        return 0
    if a.from_json:
        return republish(a)
    prof = dict(PROFILES[a.mode])
    for opt, field in (("clients", "clients"), ("pub_subs", "pub_subs"),
                       ("subscriptions", "subs"), ("sizes", "sizes")):
        if getattr(a, opt):
            prof[field] = [int(x) for x in getattr(a, opt).split(",") if x.strip()]
    if a.duration:
        prof["clients_s"] = prof["pub_s"] = prof["slow_s"] = a.duration
    notes: list[str] = []
    names: list[str] = []                     # the columns: every build, then the peers
    python: dict[str, Optional[str]] = {}     # column -> interpreter (None: this one)
    adapter: dict[str, str] = {}              # column -> impls adapter
    idents = identities(a.builds, notes) if "ours" in a.impl else {}
    for b, py in a.builds:
        if b in idents:
            names.append(b)
            python[b], adapter[b] = py, "ours"
    build_names = list(names)
    for i in a.impl:
        if i == "ours":
            continue
        ok, why = impls.available(i)
        if ok:
            names.append(i)
            python[i], adapter[i] = None, i
        else:
            notes.append("%s skipped: %s" % (i, why))
            log("bench: " + notes[-1])
    if not build_names and not a.explicit_impl:
        log("bench: no build of nanomsg_core to measure")
        return 2
    if a.pin == "one":
        if not hasattr(os, "sched_setaffinity"):
            log("bench: --pin one needs os.sched_setaffinity (Linux)")
            return 2
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})        # children and threads inherit it
        log("bench: every process and thread on CPU %d" % cpu)
    vers = versions([i for i in names if i not in build_names])
    vers.update({b: builds.describe(idents[b]) for b in build_names})
    for i in names:
        log("bench: %-8s %s" % (i, vers[i]))
    points = plan(a, prof)
    log("bench: %d points x %d impls x %d rounds (%s mode)"
        % (len(points), len(names), a.repeat, a.mode))
    records: list[dict[str, Any]] = []
    failures: list[str] = []
    started = time.monotonic()
    for p in points:
        who = [i for i in names if adapter[i] in SUPPORTS.get(p["measure"], impls.IMPLS)]
        for rnd in range(a.repeat):
            for impl in who:
                tag = "%-34s %-8s round %d/%d" % (label(p), impl, rnd + 1, a.repeat)
                t0 = time.monotonic()
                try:
                    vals = run_point(adapter[impl], p, prof, a, python[impl])
                except Exception as e:
                    procs.kill_all()
                    failures.append("%s: %s" % (tag.strip(), e))
                    log("  FAIL %s: %s" % (tag, str(e)[-600:]))
                    continue
                rec = {k: p[k] for k in ("measure", "transport", "size", "point")}
                rec.update(impl=impl, round=rnd, stalled=bool(p.get("stalled")), values=vals)
                records.append(rec)
                log("  %s  %s  (%.1fs)" % (tag, brief(p["measure"], vals), time.monotonic() - t0))
    log("bench: done in %.0fs" % (time.monotonic() - started))

    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "python": sys.version.split()[0], "machine": "%s, %d CPUs" % (
                platform.platform(), os.cpu_count() or 0),
            "versions": vers, "mode": a.mode, "repeat": a.repeat, "pin": a.pin,
            "command": builds.shown(argv if argv is not None else sys.argv[1:],
                                    os.path.dirname(HERE)),
            "builds": {b: idents[b] for b in build_names},
            "notes": notes, "failures": failures}
    publish(a, meta, records, names, build_names)
    if failures:
        log("bench: %d measurement(s) failed:" % len(failures))
        for x in failures:
            log("  " + x[:300])
    return 1 if failures else 0


def publish(a: argparse.Namespace, meta: dict[str, Any], records: list[dict[str, Any]],
            names: list[str], build_names: list[str]) -> None:
    """The markdown (stdout, DIR/latest.md), the plots, the section, the JSON."""
    import report
    ratios = report.ratios(records, names, build_names)
    md = report.markdown(meta, records, ratios, names, build_names)
    peers: list[str] = [o for o in ("pyzmq", "pynng", "raw") if o in names]
    side = builds.section(meta, records, ratios, build_names, peers) if build_names else ""
    if len(build_names) > 1:
        md += "\n## Builds side by side\n\n" + side
    sys.stdout.write(md)
    sys.stdout.flush()
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        suffix = "-pin-one" if meta["pin"] == "one" else ""
        plots, no_plots = report.plots(records, names, a.out, suffix, build_names)
        if no_plots:
            log("bench: no plots: " + no_plots)
            md += "\n_No plots: %s._\n" % no_plots
        else:
            md += "\n## Plots\n\n" + "".join("![%s](%s)\n\n" % (os.path.splitext(p)[0], p)
                                             for p in plots)
        path = os.path.join(a.out, "latest%s.md" % suffix)
        with open(path, "w") as f:
            f.write(md)
        log("bench: wrote %s%s" % (path, "".join(", " + p for p in plots)))
    if a.section and side:
        builds.splice(a.section, side)
        log("bench: wrote the builds into " + a.section)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "records": records, "ratios": ratios}, f, indent=1)
        log("bench: wrote " + a.json)


def republish(a: argparse.Namespace) -> int:
    """--from-json: the tables, plots and section of an earlier run, measuring nothing."""
    import report
    with open(a.from_json) as f:
        data = json.load(f)
    meta, records = data["meta"], data["records"]
    build_names = list(meta.get("builds") or ["ours"])
    seen = {r["impl"] for r in records}
    names = [b for b in build_names if b in seen] + [i for i in report.PEERS if i in seen]
    if a.json == a.from_json:
        a.json = None
    publish(a, meta, records, names, build_names)
    return 0


def brief(measure: str, v: dict[str, Any]) -> str:
    if measure == "lat":
        return "%.1f us/rt" % v["us"]
    if measure in ("thr", "sizes"):
        return "%.0f msg/s %.1f MB/s" % (v["msg/s"], v["MB/s"])
    if measure == "scale-clients":
        return "p50 %.0f us p99 %.0f us %.0f req/s" % (v["p50_us"], v["p99_us"], v["req/s"])
    if measure == "scale-pub":
        return "sent %.0f/s delivered %.0f/s" % (v["sent/s"], v["delivered/s"])
    if measure == "scale-subs":
        return "match %.0f ns miss %.0f ns" % (v["match_ns"], v["miss_ns"])
    return json.dumps(v)


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        procs.kill_all()
