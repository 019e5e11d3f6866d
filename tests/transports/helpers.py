"""Helpers for the stream-transport tests (raw peers, framing, leak counting)."""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

import nanomsg_core as nn


def raw_connect(url: str, timeout: float = 5.0) -> Any:
    """A plain stdlib socket connected to *url* (no SP handshake); for ipc://
    on Windows, a named-pipe client with the same methods."""
    if url.startswith("tcp://"):
        host, port = url[6:].rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=timeout)
    elif sys.platform == "win32":                       # no AF_UNIX: named pipes
        from tests.transports import winpipe
        return winpipe.connect(url, timeout)
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(url[6:])
    return s


def raw_listen(url: str) -> Any:
    if url.startswith("tcp://"):
        host, port = url[6:].rsplit(":", 1)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
    elif sys.platform == "win32":                       # no AF_UNIX: named pipes
        from tests.transports import winpipe
        return winpipe.PipeListener(url)
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(url[6:])
    s.listen(16)
    return s


def frame(url: str, payload: bytes) -> bytes:
    n = len(payload).to_bytes(8, "big")
    return (n if url.startswith("tcp://") else b"\x01" + n) + payload


def read_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("peer closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def closed_by_peer(s: socket.socket, timeout: float = 5.0) -> bool:
    """True once the peer closes *s* (EOF or reset), False on timeout."""
    s.settimeout(timeout)
    try:
        while s.recv(4096):
            pass
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return True


def fd_count() -> int:
    if sys.platform == "win32":
        from tests.transports import winpipe
        return winpipe.handle_count()
    return len(os.listdir("/proc/self/fd"))


def pair(timeout_ms: int = 5000) -> nn.Socket:
    s = nn.Socket(nn.AF_SP, nn.PAIR)
    s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, timeout_ms)
    s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, timeout_ms)
    return s


def echo_child(url: str, role: str, count: int) -> None:
    """Run in a child process: a PAIR that echoes *count* messages, reversed."""
    s = pair(10000)
    s.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
    s.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, -1)
    if role == "bind":
        s.bind(url)
    else:
        s.connect(url)
    for _ in range(count):
        s.send(s.recv()[::-1])
    s.recv()                          # wait for the parent's "bye"
    s.close()


class KeeperVisits:
    """``len()`` is the idle keepers' visits to kept connections since it was
    made (read by the keepers' own counter, so the compiled build counts them
    too)."""

    def __init__(self) -> None:
        self._start = self._now()

    @staticmethod
    def _now() -> int:
        from nanomsg_core.stream import idle
        return sum(keeper.visits for keeper in list(idle._kept.values()))

    def __len__(self) -> int:
        return self._now() - self._start
