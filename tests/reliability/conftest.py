"""Fixtures and helpers of the reliability suite (leaks, hostile peers, soak)."""

from __future__ import annotations

import gc
import os
import ssl
import sys
import tempfile
import threading
from collections.abc import Iterator

import pytest

import nanomsg_core as nn
from tests.support import WINE, free_port, wait_until
from tests.transports.helpers import fd_count as _fd_count

TLS_SCHEMES = ("tls+tcp", "wss")


def _working_set_kib() -> int:
    assert sys.platform == "win32"
    import ctypes
    from ctypes import wintypes

    class Counters(ctypes.Structure):        # PROCESS_MEMORY_COUNTERS
        _fields_ = [("cb", wintypes.DWORD), ("PageFaultCount", wintypes.DWORD)] + [
            (name, ctypes.c_size_t) for name in (
                "PeakWorkingSetSize", "WorkingSetSize", "QuotaPeakPagedPoolUsage",
                "QuotaPagedPoolUsage", "QuotaPeakNonPagedPoolUsage", "QuotaNonPagedPoolUsage",
                "PagefileUsage", "PeakPagefileUsage")]
    k32 = ctypes.WinDLL("kernel32")
    k32.GetCurrentProcess.restype = wintypes.HANDLE
    k32.K32GetProcessMemoryInfo.argtypes = [wintypes.HANDLE, ctypes.POINTER(Counters),
                                            wintypes.DWORD]
    c = Counters()
    c.cb = ctypes.sizeof(c)
    if not k32.K32GetProcessMemoryInfo(k32.GetCurrentProcess(), ctypes.byref(c), c.cb):
        raise ctypes.WinError()
    return int(c.WorkingSetSize) // 1024


def fd_count() -> int:
    """Open descriptors (Linux), or handles (Windows)."""
    return _fd_count()


def rss_kib() -> int:
    """Resident memory in KiB: VmRSS (Linux), the working set (Windows)."""
    if sys.platform == "win32":
        return _working_set_kib()
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def engine_idle() -> None:
    """Wait until the engine thread has run everything posted so far (twice:
    teardown callbacks post callbacks of their own)."""
    from nanomsg_core.engine._runtime import get_engine
    for _ in range(2):
        ev = threading.Event()
        get_engine().call_soon_threadsafe(ev.set)
        assert ev.wait(5), "engine thread stuck"


def collected(refs: list, timeout: float = 5.0) -> None:  # type: ignore[type-arg]
    """Wait until every weakref in *refs* is dead (collecting garbage meanwhile)."""
    def dead() -> bool:
        gc.collect()
        return all(r() is None for r in refs)
    try:
        wait_until(dead, timeout, "closed objects to be freed")
    except AssertionError:
        alive = [r() for r in refs if r() is not None]
        holders = [type(h).__name__ for h in gc.get_referrers(alive[0])][:10] if alive else []
        raise AssertionError("%d of %d still alive, e.g. %r held by %s"
                             % (len(alive), len(refs), alive[:1], holders)) from None


@pytest.fixture
def sockets() -> Iterator[list[nn.Socket]]:
    """Sockets appended here are closed after the test."""
    made: list[nn.Socket] = []
    yield made
    for s in made:
        s.close()


@pytest.fixture
def no_leaks() -> Iterator[None]:
    """Fail if the test leaves file descriptors or threads behind."""
    engine_idle()
    fds, threads = fd_count(), threading.active_count()
    yield
    wait_until(lambda: fd_count() <= fds, 10, "fds back to %d (now %d)" % (fds, fd_count()))
    wait_until(lambda: threading.active_count() <= threads, 10,
               "threads back to %d (now %d)" % (threads, threading.active_count()))


@pytest.fixture(scope="module")
def tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) contexts from a fresh test CA, for tls+tcp and wss
    (request it only for those: see :func:`tls_for`)."""
    try:
        import trustme
    except ImportError as e:
        if WINE is None:
            raise
        pytest.xfail("Wine %s: trustme's cryptography does not load (its Rust extension "
                     "fails to import under Wine 8.0; it does on Windows): %s" % (WINE, e))
    ca = trustme.CA()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(client)
    return server, client


def tls_for(url: str, request: pytest.FixtureRequest
            ) -> "tuple[ssl.SSLContext, ssl.SSLContext] | None":
    """The ``tls`` fixture's contexts for a tls+tcp or wss *url*, else None
    (so a missing TLS stack costs only the TLS cases)."""
    if url.startswith(TLS_SCHEMES):
        return request.getfixturevalue("tls")  # type: ignore[no-any-return]
    return None


@pytest.fixture
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh URL of the scheme given as the indirect parameter (any transport)."""
    scheme = request.param
    if scheme == "abstract" and not sys.platform.startswith("linux"):
        pytest.skip("abstract:// is Linux-only")
    with tempfile.TemporaryDirectory(prefix="nnr-") as d:
        name = os.path.basename(d)
        yield {"inproc": "inproc://%s" % name,
               "ipc": "ipc://%s/r.ipc" % d,
               "abstract": "abstract://%s" % name,
               "ws": "ws://127.0.0.1:%d/r" % free_port(),
               "wss": "wss://127.0.0.1:%d/r" % free_port()}.get(
                   scheme, "%s://127.0.0.1:%d" % (scheme, free_port()))
