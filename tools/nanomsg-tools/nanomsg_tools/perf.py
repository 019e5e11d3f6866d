"""nanomsg's perf tools, with nanomsg's arguments, over PAIR sockets.

``local_lat <bind-to> <msg-size> <roundtrips>`` /
``remote_lat <connect-to> <msg-size> <roundtrips>``,
``local_thr <bind-to> <msg-size> <msg-count>`` /
``remote_thr <connect-to> <msg-size> <msg-count>``,
``inproc_lat <msg-size> <roundtrips>``, ``inproc_thr <msg-size> <msg-count>``.

Any transport's URL works (``tcp://``, ``ipc://``, ``abstract://``, ``ws://``,
``wss://``, ``tls+tcp://``).  For TLS, the environment gives the
certificates: ``NN_TLS_CA`` (CA file to verify the peer), ``NN_TLS_CERT`` and
``NN_TLS_KEY`` (our certificate; required to bind), ``NN_TLS_INSECURE=1``
(dialers skip verification).  Output is nanomsg's, on stdout; on a terminal
(or with ``NN_PERF_PROGRESS=1``) a live rate is shown on stderr meanwhile.
"""

from __future__ import annotations

import os
import ssl
import sys
import threading
import time
from typing import Callable, Iterable, Iterator, Optional, TypeVar

import nanomsg_core as C
from nanomsg_core import Socket

__all__ = ["inproc_lat", "inproc_thr", "local_lat", "local_thr", "remote_lat", "remote_thr"]


T = TypeVar("T")
_PROGRESS_EVERY = 1024


def _args(argv: Optional[list[str]], names: str, prog: str = "") -> list[str]:
    args = list(sys.argv[1:] if argv is None else argv)
    want = names.split()
    if len(args) != len(want):
        prog = prog or sys.argv[0].rsplit("/", 1)[-1]
        print("usage: %s %s" % (prog, " ".join("<%s>" % w for w in want)))   # as nanomsg
        raise SystemExit(1)
    return args


def _tls_context(bind: bool) -> Optional[ssl.SSLContext]:
    ca, cert, key = (os.environ.get("NN_TLS_" + k) for k in ("CA", "CERT", "KEY"))
    if not (ca or cert):
        return None if bind else ssl.create_default_context()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if bind else ssl.PROTOCOL_TLS_CLIENT)
    if cert:
        ctx.load_cert_chain(cert, key or None)
    if ca:
        ctx.load_verify_locations(ca)
    if not bind and os.environ.get("NN_TLS_INSECURE") == "1":
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _socket(url: str, bind: bool) -> Socket:
    s = Socket(C.AF_SP, C.PAIR)
    if url.startswith("tcp://"):
        s.setsockopt(C.TCP, C.TCP_NODELAY, 1)
    if url.startswith(("tls+tcp://", "wss://")):
        ctx = _tls_context(bind)
        if ctx is not None:
            s.setsockopt(C.TLS, C.TLS_CONFIG, ctx)
    (s.bind if bind else s.connect)(url)
    return s


def _progress(items: Iterable[T], total: int, what: str) -> Iterator[T]:
    """*items*, with a live rate on stderr (a terminal, or NN_PERF_PROGRESS=1)."""
    if not (os.environ.get("NN_PERF_PROGRESS") == "1" or sys.stderr.isatty()):
        yield from items
        return
    start = last = time.perf_counter()
    for i, item in enumerate(items):
        yield item
        if i % _PROGRESS_EVERY == 0 and i:
            now = time.perf_counter()
            if now - last >= 0.5:
                last = now
                sys.stderr.write("\r%s %d/%d (%3d%%) %d/s " % (
                    what, i, total, 100 * i // max(total, 1), i / (now - start)))
                sys.stderr.flush()
    sys.stderr.write("\r%s\r" % (" " * 60))


def _echo(url: str, size: int, count: int, bind: bool) -> None:
    s = _socket(url, bind)
    try:
        for _ in range(count):
            buf = s.recv()
            assert len(buf) == size, "message of the wrong size"
            s.send(buf)
    finally:
        s.close()


def _ping(url: str, size: int, count: int, bind: bool) -> float:
    s = _socket(url, bind)
    try:
        msg = b"\x6f" * size
        start = time.perf_counter()
        for _ in _progress(range(count), count, "roundtrips"):
            s.send(msg)
            assert len(s.recv()) == size, "message of the wrong size"
        return (time.perf_counter() - start) / count / 2 * 1e6
    finally:
        s.close()


def _sink(url: str, size: int, count: int, bind: bool) -> tuple[float, float]:
    s = _socket(url, bind)
    try:
        assert s.recv() == b""              # the start marker
        start = time.perf_counter()
        for _ in _progress(range(count), count, "messages"):
            assert len(s.recv()) == size, "message of the wrong size"
        elapsed = time.perf_counter() - start
        try:    # tell our remote_thr it may close (a C nanomsg one has left already)
            s.send(b"done", C.DONTWAIT)
        except OSError:
            pass
    finally:
        s.close()
    rate = count / elapsed if elapsed > 0 else float("inf")
    return rate, rate * size * 8 / 1e6


def _source(url: str, size: int, count: int, bind: bool) -> None:
    s = _socket(url, bind)
    try:
        s.send(b"")
        msg = b"\x6f" * size
        for _ in range(count):
            s.send(msg)
        s.setsockopt(C.SOL_SOCKET, C.RCVTIMEO, 2000)
        try:  # keep the socket open until the sink has read everything
            s.recv()
        except OSError:
            pass
    finally:
        s.close()


def _report_lat(size: int, count: int, lat_us: float) -> None:
    print("message size: %d [B]\nroundtrip count: %d\naverage latency: %.3f [us]"
          % (size, count, lat_us))


def _report_thr(size: int, count: int, rate: float, mbps: float, mean: str = "") -> None:
    print("message size: %d [B]\nmessage count: %d\n%sthroughput: %d [msg/s]\n"
          "%sthroughput: %.3f [Mb/s]" % (size, count, mean, rate, mean, mbps))


def local_lat(argv: Optional[list[str]] = None) -> None:
    url, size, count = _args(argv, "bind-to msg-size roundtrips")
    _echo(url, int(size), int(count), bind=True)


def remote_lat(argv: Optional[list[str]] = None) -> None:
    url, size, count = _args(argv, "connect-to msg-size roundtrips")
    _report_lat(int(size), int(count), _ping(url, int(size), int(count), bind=False))


def local_thr(argv: Optional[list[str]] = None) -> None:
    url, size, count = _args(argv, "bind-to msg-size msg-count")
    rate, mbps = _sink(url, int(size), int(count), bind=True)
    _report_thr(int(size), int(count), rate, mbps)


def remote_thr(argv: Optional[list[str]] = None) -> None:
    url, size, count = _args(argv, "connect-to msg-size msg-count")
    _source(url, int(size), int(count), bind=False)


def _in_thread(fn: Callable[[], None]) -> threading.Thread:
    th = threading.Thread(target=fn, daemon=True)
    th.start()
    return th


def inproc_lat(argv: Optional[list[str]] = None) -> None:
    size_s, count_s = _args(argv, "message-size roundtrip-count")
    size, count = int(size_s), int(count_s)
    url = "inproc://inproc_lat"
    ready = threading.Event()
    echo = Socket(C.AF_SP, C.PAIR)
    echo.bind(url)
    ready.set()

    def run() -> None:
        try:
            for _ in range(count):
                echo.send(echo.recv())
        finally:
            echo.close()
    th = _in_thread(run)
    _report_lat(size, count, _ping(url, size, count, bind=False))
    th.join()


def inproc_thr(argv: Optional[list[str]] = None) -> None:
    size_s, count_s = _args(argv, "message-size message-count", "thread_thr")
    size, count = int(size_s), int(count_s)
    url = "inproc://inproc_thr"
    sink = Socket(C.AF_SP, C.PAIR)
    sink.bind(url)

    def run() -> None:
        _source(url, size, count, bind=False)
    th = _in_thread(run)
    try:
        assert sink.recv() == b""
        start = time.perf_counter()
        for _ in _progress(range(count), count, "messages"):
            sink.recv()
        elapsed = time.perf_counter() - start
        sink.send(b"done")
    finally:
        th.join()
        sink.close()
    rate = count / elapsed if elapsed > 0 else float("inf")
    _report_thr(size, count, rate, rate * size * 8 / 1e6, mean="mean ")
