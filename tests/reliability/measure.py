"""Hostile peers, faults and scale, side by side: ours, C nanomsg and NNG
(run by hand; not a test module).

    python -m tests.reliability.measure [--quick] [--impl ours,c,nng] [--only PROBES]
                                        [--json FILE] [--update FILE]
    python -m tests.reliability.measure idle     [--impl ours|c|nng] [--conns 200]
    python -m tests.reliability.measure announce [--impl ours|c|nng]
    python -m tests.reliability.measure flood    [--impl ours|c|nng] [--msgs 1000]

The first form runs every probe of issue 16 for each implementation and
prints a markdown table (``docs/reliability.md``, "Side by side with C
nanomsg and NNG"); ``--quick`` runs them with smaller N in about 3 minutes.
Probes: ``malformed``, ``pingflood``, ``tls``, ``exit``, ``pull``, ``rep``,
``idle``, ``flood`` (their modules, ``probes_*.py``, say what each does).
``--update FILE`` re-runs only the ``--only`` probes over the results of an
earlier run (kept in FILE) and prints the whole table again.

Every victim is a child process of one implementation: ours through the
public API, C nanomsg 1.1.5 (``libnanomsg.so.5``) through a small ctypes
binding, NNG through pynng.  The peers are plain stdlib sockets speaking the
SP wire format (or SP over WebSocket), so every victim faces the same bytes;
the send-close-exit probe's receiver is an NNG PULL for every sender.
Everything runs on loopback, each probe bounded in time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from typing import Any, Callable, Optional

from tests.reliability import probes_exit, probes_scale, probes_tls, probes_ws
from tests.reliability.probes_tls import Certs

IMPLS = ("ours", "c", "nng")
NAMES = {"ours": "ours", "c": "C nanomsg 1.1.5", "nng": "NNG (pynng 0.9)"}
PROBES = ("malformed", "pingflood", "tls", "exit", "pull", "rep", "idle", "flood")


class Plan:
    """The sizes of one run (``quick`` shrinks every N)."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.flood_seconds = 3.0 if quick else 10.0
        self.attackers = 4
        self.stalled = 300
        self.exit_runs = 2 if quick else 10
        self.pull_idle = (0, 1000) if quick else (0, 100, 1000, 3000)
        self.rep_idle = (0, 1000) if quick else (0, 1000, 4000)
        self.seconds = 1.0 if quick else 2.0
        self.windows = 2 if quick else 5
        self.conns = 50 if quick else 200
        self.msgs = 300 if quick else 2000


def run_probe(name: str, impl: str, plan: Plan, certs: Certs) -> Any:
    if name == "malformed":
        return probes_ws.malformed(impl)
    if name == "pingflood":
        return probes_ws.ping_flood(impl, plan.flood_seconds, plan.attackers)
    if name == "tls":
        return probes_tls.stalled(impl, certs, plan.stalled)
    if name == "exit":
        return probes_exit.send_close_exit(impl, certs, plan.exit_runs)
    if name == "pull":
        return {n: probes_scale.pull_rate(impl, n, 1.0, plan.windows) for n in plan.pull_idle}
    if name == "rep":
        return {n: probes_scale.rep_p50(impl, n, plan.seconds) for n in plan.rep_idle}
    if name == "idle":
        return {t: probes_scale.idle_memory(impl, t, certs, plan.conns)
                for t in ("tcp", "ws", "tls+tcp")}
    return probes_scale.flood(impl, plan.msgs)


# -- the table ------------------------------------------------------------------------

def _yes(b: bool) -> str:
    return "yes" if b else "**no**"


def _ms(x: float) -> str:
    return "n/a" if math.isnan(x) else ("%.2f" % x if x < 10 else "%.0f" % x)


def _rate(x: float) -> str:
    return "%.0fk" % (x / 1000) if x >= 10000 else "%.1fk" % (x / 1000)


def _mib(x: float) -> str:
    """RSS growth; bold from 32 MiB (issue 16: "RSS growth under 32 MiB")."""
    text = "%+.1f MiB" % x
    return "**%s**" % text if x >= 32 else text


def _bold_if(bad: bool, text: str) -> str:
    return "**%s**" % text if bad else text


def _delivered(runs: Optional[list[int]]) -> str:
    if runs is None:
        return "n/a"
    full = sum(1 for r in runs if r == probes_exit.COUNT)
    lo, hi = min(runs), max(runs)
    got = str(lo) if lo == hi else "%d–%d" % (lo, hi)
    text = "%s (%d/%d runs)" % (got, full, len(runs))
    return text if full == len(runs) else "**%s**" % text


def _delivered_over(transport: str) -> Callable[[Any], str]:
    return lambda r: _delivered(r[transport])


def _answers(a: list[str]) -> str:
    return "%s ×%d" % (a[0], len(a)) if len(set(a)) == 1 else ", ".join(a)


Row = tuple[str, Callable[[Any], str]]


def rows(plan: Plan) -> dict[str, list[Row]]:
    """Per probe: (label, cell formatter of one implementation's result)."""
    fl = "%d attackers, %g s" % (plan.attackers, plan.flood_seconds)
    exit_rows: list[Row] = [("send 1000 × 100 B, close, exit: delivered over %s" % t,
                             _delivered_over(t)) for t in probes_exit.TRANSPORTS]
    return {
        "malformed": [
            ("malformed ws upgrade (non-ASCII byte in Protocol / Extensions / Connection / "
             "Host): answer", lambda r: _answers(r["answers"])),
            ("… an unrelated tcp REP of the process still answers; the ws listener serves; "
             "RSS growth",
             lambda r: "%s; %s; %s" % (_yes(r["tcp_rep"] and r["alive"]), _yes(r["ws_after"]),
                                       _mib(r["rss_mib"])))],
        "pingflood": [
            ("ws ping flood (%s): victim RSS growth" % fl, lambda r: _mib(r["rss_mib"])),
            ("… polite peer's round-trip p50 meanwhile, ws / tcp; a new ws connection's "
             "first reply (ms)",
             lambda r: "%s / %s; %s%s" % (_ms(r["ws_p50"]), _ms(r["tcp_p50"]),
                                          _ms(r["connect_ms"]),
                                          " (%d failed)" % r["fails"] if r["fails"] else ""))],
        "tls": [
            ("%d stalled TLS handshakes (half silent, half after ClientHello): RSS growth, "
             "while open / 2 s after dropped" % plan.stalled,
             lambda r: "n/a" if r.get("na") else "%s / %s" % (_mib(r["peak_mib"]),
                                                               _mib(r["after_mib"]))),
            ("… an unrelated tcp REP answers meanwhile; tls+tcp serves after",
             lambda r: "n/a" if r.get("na") else "%s; %s" % (_yes(r["tcp_rep"]),
                                                              _yes(r["tls_after"])))],
        "exit": exit_rows,
        "pull": [("PULL msg/s with %s idle pushers" % " / ".join(map(str, plan.pull_idle)),
                  lambda r: _bold_if(r[1000] < r[0] / 2,         # issue 16: at least half
                                     " / ".join(_rate(r[n]) for n in plan.pull_idle)))],
        "rep": [("REP round-trip p50 (ms) with %s idle clients"
                 % " / ".join(map(str, plan.rep_idle)),
                 lambda r: _bold_if(max(r.values()) >= 0.3,      # issue 16: under 0.3 ms
                                    " / ".join("%.3f" % r[n] for n in plan.rep_idle)))],
        "idle": [("idle memory per connection, tcp / ws / tls+tcp (%d connections, KiB RSS)"
                  % plan.conns,
                  lambda r: " / ".join("n/a" if r[t] is None else "%.1f" % r[t]
                                       for t in ("tcp", "ws", "tls+tcp")))],
        "flood": [
            ("polite peer's one-way latency p50 / p90 / p99 (ms), idle",
             lambda r: " / ".join(_ms(x) for x in r["idle"])),
            ("… while another peer floods 64-byte frames",
             lambda r: " / ".join(_ms(x) for x in r["flood"]))],
    }


def table(results: dict[str, dict[str, Any]], impls: list[str], plan: Plan) -> str:
    lines = ["| probe | " + " | ".join(NAMES[i] for i in impls) + " |",
             "|---|" + "---|" * len(impls)]
    for probe, probe_rows in rows(plan).items():
        if probe not in results:
            continue
        for label, cell in probe_rows:
            cells = []
            for impl in impls:
                r = results[probe].get(impl)
                try:
                    cells.append("error: %s" % r["error"] if isinstance(r, dict) and "error" in r
                                 else cell(r))
                except (KeyError, TypeError, ValueError) as e:
                    cells.append("error: %r" % e)
            lines.append("| %s | %s |" % (label, " | ".join(cells)))
    return "\n".join(lines)


def run_all(impls: list[str], probes: list[str], plan: Plan) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    certs = Certs()
    try:
        for probe in probes:
            results[probe] = {}
            for impl in impls:
                t0 = time.monotonic()
                try:
                    results[probe][impl] = run_probe(probe, impl, plan, certs)
                except Exception as e:          # one failed probe still prints its row
                    results[probe][impl] = {"error": "%s: %s" % (type(e).__name__, e)}
                print("# %-9s %-4s %5.1f s: %s" % (probe, impl, time.monotonic() - t0,
                                                    results[probe][impl]),
                      file=sys.stderr, flush=True)
    finally:
        certs.close()
    return results


# -- the single probes of the earlier harness -----------------------------------------

def single(what: str, impl: str, conns: int, msgs: int) -> None:
    if what == "announce":
        a, b = probes_scale.announce(impl)
        print("%s announce 1 GiB: RSS +%.1f MiB after 1 KiB of it, +%.1f MiB after 16 MiB"
              % (impl, a, b))
    elif what == "flood":
        r = probes_scale.flood(impl, msgs)
        print("%s one-way p50/p90/p99 ms: idle %s, flood %s" % (impl, r["idle"], r["flood"]))
    else:
        certs = Certs()
        try:
            for t in ("tcp", "ws", "tls+tcp"):
                kib = probes_scale.idle_memory(impl, t, certs, conns)
                print("%s idle %s: %d conns, %s KiB RSS/conn"
                      % (impl, t, conns, "n/a" if kib is None else "%.1f" % kib))
        finally:
            certs.close()


def main(argv: Optional[list[str]] = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m tests.reliability.measure")
    ap.add_argument("what", nargs="?", default="all", choices=["all", "idle", "announce", "flood"])
    ap.add_argument("--impl", default=",".join(IMPLS), help="comma list of ours, c, nng")
    ap.add_argument("--only", default=",".join(PROBES), help="comma list of " + ", ".join(PROBES))
    ap.add_argument("--quick", action="store_true", help="smaller N (about 3 minutes)")
    ap.add_argument("--json", default="", help="also write the raw results here")
    ap.add_argument("--update", default="", help="results of an earlier run (JSON): re-run "
                    "the --only probes, print the whole table, write the file back")
    ap.add_argument("--conns", type=int, default=200)
    ap.add_argument("--msgs", type=int, default=1000)
    a = ap.parse_args(argv)
    impls = [i for i in a.impl.split(",") if i]
    probes = [p for p in a.only.split(",") if p]
    bad = [x for x in impls if x not in IMPLS] + [p for p in probes if p not in PROBES]
    if bad:
        ap.error("unknown implementation or probe: %s" % ", ".join(bad))
    if a.what != "all":
        for impl in impls:
            single(a.what, impl, a.conns, a.msgs)
        return
    plan = Plan(a.quick)
    t0 = time.monotonic()
    results = _load(a.update) if a.update and os.path.exists(a.update) else {}
    for probe, by_impl in run_all(impls, probes, plan).items():
        results.setdefault(probe, {}).update(by_impl)
    print(table(results, impls, plan))
    if probes:
        print("\n%s, %d CPUs, Python %s; %s; %.0f s" % (
            time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count() or 0,
            platform.python_version(), "quick" if a.quick else "full", time.monotonic() - t0))
    for path in {a.json, a.update} - {""}:
        with open(path, "w") as f:
            json.dump(results, f, indent=1, default=str)


def _load(path: str) -> dict[str, dict[str, Any]]:
    """Results as run_all returns them (JSON turned the idle counts into strings)."""
    def keys(d: dict[str, Any]) -> dict[Any, Any]:
        return {int(k) if k.isdigit() else k: v for k, v in d.items()}
    with open(path) as f:
        return json.load(f, object_hook=keys)  # type: ignore[no-any-return]


if __name__ == "__main__":
    main()
