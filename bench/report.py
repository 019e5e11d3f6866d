"""Tables (markdown), cost ratios and plots (matplotlib, optional)."""

from __future__ import annotations

import math
import os
import statistics
from typing import Any, Optional

PEERS = ("pynng", "pyzmq", "raw")
COLOR = {"pynng": "C1", "pyzmq": "C2", "raw": "C3"}
BUILD_COLORS = ("C0", "C4", "C5", "C6", "C8", "C9", "C7")


def columns(names: list[str], builds: list[str]) -> list[str]:
    """Every build of ours (in the order given), then the peers."""
    return [b for b in names if b in builds] + [i for i in PEERS if i in names]


def color(col: str, builds: list[str]) -> str:
    if col in COLOR:
        return COLOR[col]
    return BUILD_COLORS[builds.index(col) % len(BUILD_COLORS)] if col in builds else "C7"
Key = tuple[str, str, int, Any, bool]   # point: int, or None


def key(r: dict[str, Any]) -> Key:
    return (r["measure"], r["transport"], r["size"], r["point"], r.get("stalled", False))


def groups(records: list[dict[str, Any]]) -> dict[Key, dict[str, list[dict[str, Any]]]]:
    g: dict[Key, dict[str, list[dict[str, Any]]]] = {}
    for r in records:
        g.setdefault(key(r), {}).setdefault(r["impl"], []).append(r["values"])
    return g


def med(vals: list[dict[str, Any]], k: str) -> Optional[float]:
    xs = [float(v[k]) for v in vals if v.get(k) is not None and not _nan(v[k])]
    return statistics.median(xs) if xs else None


def val(vals: list[dict[str, Any]], k: str) -> float:
    """The median as a float for plotting (NaN: nothing to plot)."""
    m = med(vals, k)
    return math.nan if m is None else m


def _nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def fmt(x: Optional[float], digits: int = 3) -> str:
    if x is None:
        return "–"
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e6:
        return "%.2f M" % (x / 1e6)
    if a >= 1e4:
        return "%.0f k" % (x / 1e3)
    if a >= 100:
        return "%.0f" % x
    if a >= 10:
        return "%.1f" % x
    return "%.*g" % (digits, x)


def spread(vals: list[dict[str, Any]], k: str, digits: int = 3) -> str:
    xs = [v[k] for v in vals if v.get(k) is not None and not _nan(v[k])]
    if not xs:
        return "–"
    m = fmt(statistics.median(xs), digits)
    if len(xs) > 1:
        return "%s (%s–%s)" % (m, fmt(min(xs), digits), fmt(max(xs), digits))
    return m


def size_name(n: int) -> str:
    for unit, f in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= f and n % f == 0:
            return "%d %s" % (n // f, unit)
    return "%d B" % n


def mem_cell(size: int, vals: list[dict[str, Any]]) -> str:
    text = "%s MiB" % fmt(med(vals, "peak_MiB"))
    if size >= 65536:
        text += " (%s×)" % fmt(med(vals, "per_msg"))
    return text


# ---------------------------------------------------------------- ratios

def cost(measure: str, v: dict[str, Any]) -> Optional[float]:
    """Time per unit of work: bigger is slower, for every measure."""
    try:
        if measure == "lat":
            return float(v["us"])
        if measure in ("thr", "sizes"):
            return 1.0 / float(v["msg/s"])
        if measure == "scale-clients":
            return 1.0 / float(v["req/s"])
        if measure == "scale-pub":
            return 1.0 / float(v["delivered/s"])
    except (KeyError, ZeroDivisionError, TypeError):
        return None
    return None


def ratios(records: list[dict[str, Any]], names: list[str],
           builds: Optional[list[str]] = None) -> list[dict[str, Any]]:
    """Per point, each build's cost over each peer's and (from the second
    build on) over the first build's, per round; median, min, max."""
    builds = ["ours"] if builds is None else builds
    out = []
    by: dict[tuple[Key, int], dict[str, dict[str, Any]]] = {}
    for r in records:
        by.setdefault((key(r), r["round"]), {})[r["impl"]] = r["values"]
    keys = sorted({k for k, _ in by}, key=_sort_key)
    for k in keys:
        for b in builds:
            vs: list[str] = [o for o in ("pyzmq", "pynng", "raw") if o in names]
            if b != builds[0]:
                vs.append(builds[0])
            for other in vs:
                xs = []
                for (k2, _rnd), per in by.items():
                    if k2 != k or b not in per or other not in per:
                        continue
                    x, y = cost(k[0], per[b]), cost(k[0], per[other])
                    if x and y:
                        xs.append(x / y)
                if xs:
                    out.append({"measure": k[0], "transport": k[1], "size": k[2],
                                "point": k[3], "stalled": k[4], "build": b, "vs": other,
                                "median": statistics.median(xs), "min": min(xs),
                                "max": max(xs), "pairs": len(xs)})
    return out


def _sort_key(k: Key) -> tuple[Any, ...]:
    order = ("lat", "thr", "scale-clients", "scale-pub", "scale-subs", "sizes")
    tr = ("tcp", "ipc", "inproc", "memory")
    return (order.index(k[0]), tr.index(k[1]), k[2], k[3] or 0, k[4])


# ---------------------------------------------------------------- markdown

def markdown(meta: dict[str, Any], records: list[dict[str, Any]],
             rat: list[dict[str, Any]], names: list[str],
             builds: Optional[list[str]] = None) -> str:
    builds = ["ours"] if builds is None else builds
    g = groups(records)
    cols = columns(names, builds)
    L: list[str] = []
    w = L.append
    w("# nanomsg_core benchmark: %s\n" % meta["date"])
    w("`%s` — %s mode, %d round(s) per point, implementations interleaved, pin: %s.  "
      % (meta["command"], meta["mode"], meta["repeat"], meta["pin"]))
    w("CPython %s on %s.  \n" % (meta["python"], meta["machine"]))
    w("Versions: " + "; ".join("%s = %s" % (i, meta["versions"][i]) for i in cols) + ".\n")
    for n in meta["notes"]:
        w("_Note: %s._\n" % n)
    if len(records) and meta["repeat"] > 1:
        w("Cells are the median of the rounds (min–max in parentheses).\n")
    pinned = meta["pin"] == "one"

    def table(head: list[str], rows: list[list[str]]) -> None:
        w("")
        w("| " + " | ".join(head) + " |")
        w("|" + "---|" * len(head))
        for r in rows:
            w("| " + " | ".join(r) + " |")
        w("")

    def pts(measure: str) -> list[Key]:
        return sorted([k for k in g if k[0] == measure], key=_sort_key)

    if pts("lat"):
        w("\n## REQ/REP round trip, 64 B (µs per round trip%s)\n" %
          (", all on one CPU: CPU cost" if pinned else ""))
        w("Median of 20 batch means; the REP echoes from a child process (tcp, ipc) "
          "or a thread (inproc).")
        table(["transport"] + cols,
              [[k[1]] + [spread(g[k].get(i, []), "us") for i in cols] for k in pts("lat")])
    if pts("thr"):
        w("\n## PUSH → PULL throughput (msg/s · MB/s at the receiver)\n")
        table(["transport", "size"] + cols,
              [[k[1], size_name(k[2])] +
               ["%s · %s MB/s" % (spread(g[k].get(i, []), "msg/s"),
                                  fmt(med(g[k].get(i, []), "MB/s")))
                if g[k].get(i) else "–" for i in cols] for k in pts("thr")])
    if rat:
        others: list[str] = [o for o in ("pyzmq", "pynng", "raw") if o in names]
        many = len(builds) > 1
        if many:
            others.append(builds[0])
        w("\n## Cost ratios, %s / peer\n" % ("build" if many else builds[0]))
        w("Time per unit of work of ours over the peer's, per interleaved round "
          "(round trip; message; request; delivered message): **< 1 means ours is "
          "faster**. Median (min–max) over rounds.")
        rows = []
        seen: dict[tuple[Any, ...], dict[str, str]] = {}
        for r in rat:
            kk = (r["measure"], r["transport"], r["size"], r["point"], r["stalled"],
                  r.get("build", builds[0]))
            txt = "%.2f" % r["median"]
            if r["pairs"] > 1:
                txt += " (%.2f–%.2f)" % (r["min"], r["max"])
            seen.setdefault(kk, {})[r["vs"]] = txt
        for kk in sorted(seen, key=lambda x: (_sort_key(x[:5]), builds.index(x[5]))):
            what = size_name(kk[2]) if kk[0] in ("thr", "sizes", "lat") else ""
            if kk[3] is not None:
                what = "%d %s" % (kk[3], "clients" if kk[0] == "scale-clients" else "subs")
                if kk[4]:
                    what += " + 1 stalled"
            rows.append([kk[0], kk[1], what] + ([kk[5]] if many else []) +
                        [seen[kk].get(o, "1" if o == kk[5] else "–") for o in others])
        table(["measure", "transport", "point"] + (["build"] if many else []) +
              ["%s/%s" % ("build" if many else builds[0], o) for o in others], rows)
    if pts("scale-clients"):
        w("\n## One REP, many REQ clients (tcp, 64 B)\n")
        w("Every client keeps one request in flight (clients driven in waves from a few "
          "processes); latency = a request's send to its reply.")
        rows = []
        for k in pts("scale-clients"):
            for i in cols:
                if g[k].get(i):
                    v = g[k][i]
                    rows.append([str(k[3]), i, spread(v, "p50_us"), spread(v, "p99_us"),
                                 spread(v, "req/s")])
        table(["clients", "impl", "p50 µs", "p99 µs", "requests/s"], rows)
    if pts("scale-pub"):
        w("\n## One PUB, many SUB connections (tcp, 64 B, sent flat out)\n")
        w("delivered/s = messages received by all subscribers together per second; share "
          "= delivered / (sent × subscribers): the rest was dropped for full subscribers.")
        rows = []
        for k in pts("scale-pub"):
            if k[4] or k[2] != 64:
                continue
            for i in cols:
                if g[k].get(i):
                    v = g[k][i]
                    rows.append([str(k[3]), i, spread(v, "sent/s"), spread(v, "delivered/s"),
                                 spread(v, "per_sub/s"), fmt(med(v, "delivered_share"))])
        table(["subs", "impl", "sent/s", "delivered/s", "per sub/s", "share"], rows)
        stalled = [k for k in pts("scale-pub") if k[4]]
        if stalled:
            w("\n### A stalled subscriber (connected, never reads)\n")
            w("%s messages to %d fast subscribers, without and with one more that never "
              "reads until the run is over. Per fast sub/s: the rate each fast one "
              "receives in the second half of the run, when the stalled one's buffers are "
              "full (ratio near 1: the stalled one costs them nothing); share: of the "
              "sent messages, what a fast one got, and what the stalled one found "
              "waiting at the end (the rest were dropped for it, as nanomsg does)."
              % (size_name(stalled[0][2]), stalled[0][3]))
            rows = []
            for k in stalled:
                base = (k[0], k[1], k[2], k[3], False)
                for i in cols:
                    a, b = g.get(base, {}).get(i), g[k].get(i)
                    if a and b:
                        ra, rb = med(a, "late_per_sub/s"), med(b, "late_per_sub/s")
                        rows.append([i, fmt(ra), fmt(rb),
                                     "%.2f" % (rb / ra) if ra and rb else "–",
                                     fmt(med(b, "sent_MB")),
                                     fmt(med(a, "delivered_share")),
                                     fmt(med(b, "delivered_share")),
                                     fmt(med(b, "stalled_share"))])
            table(["impl", "per fast sub/s", "… with 1 stalled", "ratio", "MB sent",
                   "fast share", "… with 1 stalled", "stalled share"], rows)
    if pts("scale-subs"):
        w("\n## SUB matching cost vs subscriptions (ours, sans-IO)\n")
        w("The SUB state machine alone (nanomsg_core.testing), topics `topic/NNNNNNN`: "
          "a message matching one subscription, and one matching none after a shared "
          "prefix; best of five passes.")
        many = len(builds) > 1
        table(["subscriptions"] + (["build"] if many else []) +
              ["match ns/msg", "no match ns/msg", "subscribe µs each"],
              [[str(k[3])] + ([b] if many else []) +
               [spread(g[k][b], "match_ns"), spread(g[k][b], "miss_ns"),
                spread(g[k][b], "subscribe_us")] for k in pts("scale-subs")
               for b in builds if g[k].get(b)])
    if pts("sizes"):
        w("\n## Message size (PUSH → PULL, MB/s at the receiver)\n")
        table(["transport", "size"] + cols,
              [[k[1], size_name(k[2])] + [spread(g[k].get(i, []), "MB/s") for i in cols]
               for k in pts("sizes")])
        w("Receiver's peak memory growth while receiving (peak RSS, sampled about every "
          "MiB, minus RSS before the first message): MiB, and from 64 KiB up in "
          "message sizes (×): what one in-flight message costs the receiver.")
        table(["transport", "size"] + cols,
              [[k[1], size_name(k[2])] +
               [mem_cell(k[2], g[k][i]) if g[k].get(i) else "–" for i in cols]
               for k in pts("sizes")])
    if meta["failures"]:
        w("\n## Failed measurements\n")
        for f in meta["failures"]:
            w("* " + f.replace("\n", " ")[:300])
    return "\n".join(L) + "\n"


# ---------------------------------------------------------------- plots

def plots(records: list[dict[str, Any]], names: list[str], out: str,
          suffix: str = "", builds: Optional[list[str]] = None
          ) -> tuple[list[str], Optional[str]]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return [], "matplotlib is not installed (pip install -r bench/requirements.txt)"
    builds = ["ours"] if builds is None else builds
    g = groups(records)
    cols = columns(names, builds)
    COLOR = {c: color(c, builds) for c in cols}
    made: list[str] = []

    def save(fig: Any, name: str) -> None:
        fn = "%s%s.png" % (name, suffix)
        fig.tight_layout()
        fig.savefig(os.path.join(out, fn), dpi=110)
        plt.close(fig)
        made.append(fn)

    def pts(measure: str) -> list[Key]:
        return sorted([k for k in g if k[0] == measure], key=_sort_key)

    def ticks(ax: Any, xs: list[int], sizes: bool = False) -> None:
        xs = sorted(set(xs))
        ax.set_xticks(xs)
        ax.set_xticklabels([size_name(x).replace(" ", "\u2009") if sizes else str(x)
                            for x in xs], fontsize=8)
        ax.minorticks_off()

    def bars(ax: Any, ks: list[Key], field: str, labels: list[str]) -> None:
        width = 0.8 / max(1, len(cols))
        for j, i in enumerate(cols):
            ys = [med(g[k].get(i, []), field) or 0 for k in ks]
            ax.bar([x + j * width for x in range(len(ks))], ys, width, label=i, color=COLOR[i])
        ax.set_xticks([x + width * (len(cols) - 1) / 2 for x in range(len(ks))])
        ax.set_xticklabels(labels)

    if pts("lat"):
        fig, ax = plt.subplots(figsize=(6, 3.6))
        bars(ax, pts("lat"), "us", [k[1] for k in pts("lat")])
        ax.set_ylabel("µs per round trip" + (" (one CPU)" if suffix else ""))
        ax.set_title("REQ/REP round trip, 64 B (lower is better)")
        ax.set_ylim(top=ax.get_ylim()[1] * 1.3)
        ax.legend(fontsize=8, ncol=len(cols), loc="upper left")
        save(fig, "lat")
    if pts("thr"):
        ks = pts("thr")
        fig, ax = plt.subplots(figsize=(7, 3.8))
        bars(ax, ks, "msg/s", ["%s\n%s" % (k[1], size_name(k[2])) for k in ks])
        ax.set_yscale("log")
        ax.set_ylabel("messages per second")
        ax.set_title("PUSH → PULL throughput (higher is better)")
        ax.set_ylim(top=ax.get_ylim()[1] * 5)
        ax.legend(fontsize=8, ncol=len(cols), loc="upper left")
        save(fig, "thr")
    if pts("scale-clients"):
        ks = pts("scale-clients")
        fig, (a1, a2) = plt.subplots(2, 1, figsize=(6.4, 7.6))   # stacked: readable at page width
        for i in cols:
            xs = [k[3] for k in ks if g[k].get(i)]
            if not xs:
                continue
            a1.plot(xs, [val(g[k][i], "p50_us") for k in ks if g[k].get(i)], "o-",
                    color=COLOR[i], label="%s p50" % i)
            a1.plot(xs, [val(g[k][i], "p99_us") for k in ks if g[k].get(i)], "s--",
                    color=COLOR[i], label="%s p99" % i)
            a2.plot(xs, [val(g[k][i], "req/s") for k in ks if g[k].get(i)], "o-",
                    color=COLOR[i], label=i)
        for ax in (a1, a2):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("connected REQ clients (tcp)")
            ax.legend(fontsize=8)
            ticks(ax, [k[3] for k in ks])
        a1.set_ylabel("µs, request to reply")
        a1.set_title("latency vs clients")
        a2.set_ylabel("requests per second, total")
        a2.set_title("one REP's throughput vs clients")
        save(fig, "scale_clients")
    if pts("scale-pub"):
        ks = [k for k in pts("scale-pub") if not k[4] and k[2] == 64]
        fig, ax = plt.subplots(figsize=(6, 3.8))
        for i in cols:
            xs = [k[3] for k in ks if g[k].get(i)]
            if xs:
                ax.plot(xs, [val(g[k][i], "delivered/s") for k in ks if g[k].get(i)], "o-",
                        color=COLOR[i], label=i)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("SUB connections (tcp)")
        ticks(ax, [k[3] for k in ks])
        ax.set_ylabel("messages delivered per second, total")
        ax.set_title("one PUB, many SUBs")
        ax.legend()
        save(fig, "scale_pub")
    if pts("scale-subs"):
        fig, ax = plt.subplots(figsize=(6, 3.8))
        xs = []
        for b in builds:
            ks = [k for k in pts("scale-subs") if g[k].get(b)]
            tag = " (%s)" % b if len(builds) > 1 else ""
            xs += [k[3] for k in ks]
            ax.plot([k[3] for k in ks], [val(g[k][b], "match_ns") for k in ks], "o-",
                    color=COLOR[b], label="match" + tag)
            ax.plot([k[3] for k in ks], [val(g[k][b], "miss_ns") for k in ks], "s--",
                    color=COLOR[b], label="no match" + tag)
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("subscriptions on one SUB")
        ticks(ax, xs)
        ax.set_ylabel("ns per message")
        ax.set_title("SUB matching cost (ours, sans-IO)")
        ax.legend()
        save(fig, "scale_subs")
    if pts("sizes"):
        ks = pts("sizes")
        fig, (a1, a2) = plt.subplots(2, 1, figsize=(6.4, 7.6))   # stacked: readable at page width
        for t in ("tcp", "ipc"):
            tk = [k for k in ks if k[1] == t]
            for i in cols:
                xs = [k[2] for k in tk if g[k].get(i)]
                if not xs:
                    continue
                style = "o-" if t == "tcp" else "s--"
                a1.plot(xs, [val(g[k][i], "MB/s") for k in tk if g[k].get(i)], style,
                        color=COLOR[i], label="%s %s" % (i, t))
                a2.plot(xs, [max(1e-3, val(g[k][i], "peak_MiB")) for k in tk
                             if g[k].get(i)], style, color=COLOR[i], label="%s %s" % (i, t))
        xs = sorted({k[2] for k in ks})
        a2.plot(xs, [x / 2**20 for x in xs], ":", color="grey", label="1 message")
        for ax in (a1, a2):
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("message size")
            ax.legend(fontsize=8)
            ticks(ax, [k[2] for k in ks], sizes=True)
        a1.set_ylabel("MB/s at the receiver")
        a1.set_title("throughput vs message size")
        a2.set_ylabel("receiver's peak memory growth, MiB")
        a2.set_title("memory vs message size")
        save(fig, "sizes")
    return made, None
