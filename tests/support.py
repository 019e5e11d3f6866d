"""Helpers shared by the test suites: transports and fresh URLs, waiting, sockets."""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import queue
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import IO, Any, Callable, Iterator

import pytest

import nanomsg_core as nn

TRANSPORTS = ("inproc", "ipc", "tcp")
WIRE_TRANSPORTS = ("ipc", "tcp")
_names = itertools.count()


_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago, and that this
    process has not handed out before: the kernel may give the same free
    port to two probes in a row, and two fresh URLs of one test (bound one
    after the other) must not share it."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port


class Urls:
    """Fresh addresses of one transport: ``urls()`` returns a new one each call."""

    def __init__(self, transport: str) -> None:
        self.transport = transport
        self._dir = tempfile.mkdtemp(prefix="nnp-") if transport == "ipc" else ""

    def __call__(self) -> str:
        n = next(_names)
        if self.transport == "inproc":
            return "inproc://t-%d-%d" % (os.getpid(), n)
        if self.transport == "ipc":
            return "ipc://%s/%d.ipc" % (self._dir, n)
        return "tcp://127.0.0.1:%d" % free_port()

    def cleanup(self) -> None:
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)


def urls_for(transport: str) -> Iterator[Urls]:
    u = Urls(transport)
    try:
        yield u
    finally:
        u.cleanup()


@contextlib.contextmanager
def protocol_plugin(number: int, name: str, cls: Any) -> Iterator[int]:
    """Register *cls* as protocol *number* (peer: itself) through a plugin,
    as a third party would; unregistered on the way out."""
    class Plugin:
        @nn.hookimpl
        def nanomsg_core_register(self, registry: nn.Registry) -> None:
            registry.add_protocol(number, name, number, cls, distribution="tests")
    plugin = Plugin()
    nn.register_plugin(plugin)
    try:
        yield number
    finally:
        nn.unregister_plugin(plugin)


def wait_until(pred: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Wait for a condition of socket state (no fixed sleeps in tests)."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(0.001)


def wait_pipes(sock: nn.Socket, n: int, timeout: float = 5.0) -> None:
    """Wait until *sock* has *n* established connections."""
    wait_until(lambda: len(sock.pipes) >= n, timeout, "%d pipe(s) on %r" % (n, sock))


def timeouts(sock: nn.Socket, ms: int = 5000) -> nn.Socket:
    """Bound blocking calls so a broken test fails instead of hanging."""
    sock.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, ms)
    sock.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, ms)
    return sock


def sock(proto: int, domain: int = nn.AF_SP, timeout: int = 5000) -> nn.Socket:
    """A new socket whose blocking calls give up after *timeout* ms."""
    return timeouts(nn.Socket(domain, proto), timeout)


def errno_of(fn: Callable[[], object]) -> int:
    """The errno of the :class:`NanomsgError` that ``fn()`` must raise."""
    with pytest.raises(nn.NanomsgError) as ei:
        fn()
    return ei.value.errno or 0


class LineReader:
    """Lines from a child's stdout, read by a thread (so a test can time out)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._q: "queue.Queue[bytes]" = queue.Queue()
        self._t = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._t.start()

    def _pump(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            self._q.put(line.rstrip(b"\r\n"))

    def line(self, timeout: float = 5.0) -> bytes:
        """The next line; ``AssertionError`` if none comes in time."""
        try:
            return self._q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no output line within %.1fs" % timeout) from None


# -- Windows and Wine: named reasons for what cannot run there --------------------------

def wine_version() -> "str | None":
    """Wine's version when this is a Windows process under Wine (ntdll's
    ``wine_get_version``), else ``None`` (real Windows, or not Windows)."""
    if sys.platform != "win32":
        return None
    import ctypes
    try:
        get = ctypes.WinDLL("ntdll").wine_get_version
    except (OSError, AttributeError):
        return None
    get.restype = ctypes.c_char_p
    return str(get().decode())


WINE = wine_version()

#: ``ERROR_INTERNAL_ERROR``: what Wine 8.0's CreateProcess now and then returns
#: when the machine is loaded (seen once in a CI run: a test's child process
#: never started). Real Windows does not fail this way.
WINE_CREATE_PROCESS_FLAKE = 1359


def retrying_create_process(create: Callable[..., object], attempts: int = 5,
                            pause: float = 0.1) -> Callable[..., object]:
    """``create`` (``_winapi.CreateProcess``), retried while it fails with
    ``ERROR_INTERNAL_ERROR``; any other error, and the last attempt's, are raised.
    The handles ``subprocess`` passed stay open between attempts (it closes its
    child's ends only after the call returns or raises)."""
    def create_process(*args: object) -> object:
        for attempt in range(attempts - 1):
            try:
                return create(*args)
            except OSError as exc:
                if getattr(exc, "winerror", None) != WINE_CREATE_PROCESS_FLAKE:
                    raise
                time.sleep(pause * (attempt + 1))
        return create(*args)

    create_process.retries_wine_flake = True  # type: ignore[attr-defined]
    return create_process


def retry_wine_create_process() -> None:
    """Under Wine, retry a CreateProcess that fails with ``ERROR_INTERNAL_ERROR``.

    The root ``conftest.py`` calls this once: it replaces ``_winapi.CreateProcess``
    (the call ``subprocess.Popen`` makes) with :func:`retrying_create_process`.
    Does nothing outside Wine, so real Windows shows every failure."""
    if WINE is None:
        return
    import _winapi
    if not getattr(_winapi.CreateProcess, "retries_wine_flake", False):
        setattr(_winapi, "CreateProcess", retrying_create_process(_winapi.CreateProcess))


LINUX_ONLY_ABSTRACT = pytest.mark.skipif(
    sys.platform != "linux", reason="abstract:// is the Linux abstract socket namespace")
WINE_FIRST_PIPE_INSTANCE = pytest.mark.xfail(
    WINE is not None, strict=True,
    reason="Wine %s ignores FILE_FLAG_FIRST_PIPE_INSTANCE: a second server of a served pipe "
           "name is created, so ipc:// cannot report EADDRINUSE (real Windows does)" % WINE)


MEMSTREAM_EXAMPLE = (Path(__file__).resolve().parent.parent / "docs" / "examples" / "transports"
                     / "memstream.py")


def load_memstream() -> ModuleType:
    """docs/plugins.md's in-memory byte-stream transport, loaded once and registered."""
    mod = sys.modules.get("memstream_example")
    if mod is None:
        spec = importlib.util.spec_from_file_location("memstream_example", MEMSTREAM_EXAMPLE)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules["memstream_example"] = mod
        spec.loader.exec_module(mod)
        nn.register_plugin(mod.MemStreamTransport())
    return mod
