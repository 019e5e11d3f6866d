"""Real peers for interop tests: C nanomsg's ``nanocat``, NNG through
``pynng``, NNG 1.5's ``nngcat`` (Debian's nng-utils, on mbedTLS) and NNG 2.0
through PyPI's ``nng`` (python-nng).

All are required (``.ci/run`` installs them); tests fail, not skip, when
they are missing, so an interop test can never pass by not running.  The one
exception: on Windows no nanocat build is installed, so the nanocat tests
skip there with that reason (pynng's Windows wheel is required there too).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from typing import Any, Optional, Sequence

import pytest

from tests.support import wait_until

__all__ = ["ROLES", "Nanocat", "Nngcat", "attach", "both_ways", "nanocat_bin", "nanocat_for",
           "ng_socket", "nngcat_bin", "ours", "pynng_socket", "wait_until"]

NANOCAT_TYPES = {"pair": "--pair", "pub": "--pub", "sub": "--sub", "req": "--req",
                 "rep": "--rep", "push": "--push", "pull": "--pull",
                 "surveyor": "--surveyor", "respondent": "--respondent", "bus": "--bus"}


def nanocat_bin() -> str:
    if sys.platform == "win32":
        pytest.skip("nanocat is Debian's nanomsg-utils binary: none is installed on Windows "
                    "(the pynng tests here cover NNG's Windows build)")
    path = shutil.which("nanocat")
    assert path, "nanocat not found: apt-get install nanomsg-utils (.ci/run does)"
    return path


class Nanocat:
    """A running ``nanocat`` process; use as a context manager."""

    listen_flag = "--bind"
    dial_flag = "--connect"

    def head(self, kind: str) -> list[str]:
        """The program and its protocol flag."""
        return [nanocat_bin(), NANOCAT_TYPES[kind]]

    def __init__(self, kind: str, *args: str, bind: Optional[str] = None,
                 connect: Optional[str] = None, stdin: Any = subprocess.DEVNULL) -> None:
        cmd = self.head(kind)
        if bind:
            cmd += [self.listen_flag, bind]
        if connect:
            cmd += [self.dial_flag, connect]
        cmd += list(args)
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)

    def __enter__(self) -> "Nanocat":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait(self, timeout: float = 10.0) -> tuple[bytes, bytes, int]:
        """Wait for exit; return (stdout, stderr, returncode)."""
        out, err = self.proc.communicate(timeout=timeout)
        return out, err, self.proc.returncode

    def stop(self) -> tuple[bytes, bytes]:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            out, err = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return out, err


def pynng_socket(kind: str, **kw: Any) -> Any:
    """A pynng socket of the given pattern (``"pair"`` -> ``pynng.Pair0``)."""
    import pynng
    cls = {"pair": pynng.Pair0, "pub": pynng.Pub0, "sub": pynng.Sub0, "req": pynng.Req0,
           "rep": pynng.Rep0, "push": pynng.Push0, "pull": pynng.Pull0,
           "surveyor": pynng.Surveyor0, "respondent": pynng.Respondent0,
           "bus": pynng.Bus0}[kind]
    kw.setdefault("recv_timeout", 5000)
    kw.setdefault("send_timeout", 5000)
    return cls(**kw)


def both_ways(urls: Sequence[str]) -> list[tuple[str, str]]:
    """Parametrise helper: every URL with both roles (we bind / we connect)."""
    return [(u, role) for u in urls for role in ("we-bind", "we-connect")]


ROLES = ["we-bind", "we-connect"]
"""Who binds: ``we-bind`` (the peer connects) or ``we-connect`` (the peer binds)."""


def ours(proto: int, domain: int = 1) -> Any:
    """One of our sockets with test-friendly timeouts and a quick reconnect."""
    import nanomsg_core as nn
    s = nn.Socket(domain, proto)
    s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
    s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 10000)
    s.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
    return s


def attach(s: Any, role: str, url: str) -> None:
    """Bind ours when we bind, else connect; a pynng socket takes the other side."""
    import nanomsg_core as nn
    if isinstance(s, nn.Socket):
        (s.bind if role == "we-bind" else s.connect)(url)
    elif role == "we-bind":
        s.dial(url, block=False)
    else:
        s.listen(url)


def nanocat_for(kind: str, role: str, url: str, *args: str) -> Nanocat:
    """A nanocat on the other side of *role* (it connects when we bind)."""
    return Nanocat(kind, *args, **{"connect" if role == "we-bind" else "bind": url})


def nngcat_bin() -> str:
    path = shutil.which("nngcat")
    assert path, "nngcat not found: apt-get install nng-utils (.ci/run does)"
    return path


class Nngcat(Nanocat):
    """A running ``nngcat`` (NNG 1.5.2): ``kind`` is its protocol flag
    without dashes (``pair0``, ``pair1``, ``rep``, ...)."""

    listen_flag = "--listen"
    dial_flag = "--dial"

    def head(self, kind: str) -> list[str]:
        return [nngcat_bin(), "--" + kind]


def ng_socket(kind: str, **kw: Any) -> Any:
    """A python-nng (NNG 2.0) socket: ``"pair"`` (v0), ``"pair1"``, ``"req"``, ..."""
    import nng
    if kind in ("pair", "pair1"):
        s = nng.PairSocket(v0=kind == "pair")
    else:
        s = {"pub": nng.PubSocket, "sub": nng.SubSocket, "req": nng.ReqSocket,
             "rep": nng.RepSocket, "push": nng.PushSocket, "pull": nng.PullSocket,
             "bus": nng.BusSocket}[kind]()
    s.recv_timeout = kw.get("recv_timeout", 10000)
    s.send_timeout = kw.get("send_timeout", 10000)
    return s
