"""The compiled build (docs/compiled-build.md): it really is compiled, and
plugins written in plain Python -- a transport on the stream kit
(docs/examples/transports/memstream.py) and a protocol on the protokit
bases -- run against it.  Skipped in the pure-Python build, the default."""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import threading
from collections.abc import Iterator
from typing import Optional

import pytest

import nanomsg_core as nn
from nanomsg_core.interfaces import ProtocolHost, ProtocolPipe
from nanomsg_core.protokit import Exclusive, ProtocolBase
from tests.support import load_memstream, protocol_plugin

pytestmark = pytest.mark.skipif(not nn.COMPILED, reason="the pure-Python build runs "
                                "(NANOMSG_COMPILE=1 bash scripts/install.sh makes the compiled one)")

# modules on the data path: every one is an extension module in the compiled build
HOT = ["nanomsg_core", "nanomsg_core.compiled", "nanomsg_core.protokit", "nanomsg_core.wire",
       "nanomsg_core.stream", "nanomsg_core.stream.reads", "nanomsg_core.stream.pipebase",
       "nanomsg_core.stream.sending", "nanomsg_core.stream.receiving", "nanomsg_core.stream.codec",
       "nanomsg_core.sockets._door", "nanomsg_core.sockets._hotflags", "nanomsg_core.sockets._waker",
       "nanomsg_core.endpoints._inbox", "nanomsg_core.endpoints._message", "nanomsg_inproc", "nanomsg_pair", "nanomsg_reqrep",
       "nanomsg_pipeline", "nanomsg_pubsub"]


def _extension(name: str) -> bool:
    path = importlib.import_module(name).__file__ or ""
    return path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


@pytest.mark.parametrize("name", HOT)
def test_data_path_modules_are_extensions(name: str) -> None:
    assert _extension(name), importlib.import_module(name).__file__


# classes every message goes through: native (C structs, direct calls) in the compiled build
NATIVE = ["nanomsg_core.sockets._door:Door", "nanomsg_core.stream.pipebase:PipeBase",
          "nanomsg_core.stream.sending:SendingPipe", "nanomsg_core.stream.receiving:StreamPipe",
          "nanomsg_core.stream.codec:CodecPipe", "nanomsg_core.sockets._waker:Waker",
          "nanomsg_core.endpoints._inbox:Inbox", "nanomsg_core.endpoints._message:Message",
          "nanomsg_core.sockets._hotflags:HotFlags"]


@pytest.mark.parametrize("where", NATIVE)
def test_per_message_classes_are_native(where: str) -> None:
    module, name = where.split(":")
    cls = getattr(importlib.import_module(module), name)
    assert "__mypyc_attrs__" in vars(cls), "%s is not a native class" % where


def test_sockets_and_contexts_stay_weakly_referenceable() -> None:
    """Socket and Context are interpreted subclasses of the native Door:
    weak references to them work, and their callbacks run."""
    import gc
    import weakref
    gone: list[str] = []
    s = nn.Socket(nn.AF_SP, nn.REP)
    c = s.context()
    rs = weakref.ref(s, lambda _: gone.append("socket"))
    rc = weakref.ref(c, lambda _: gone.append("context"))
    assert rs() is s and rc() is c
    c.close()
    s.close()
    del s, c
    gc.collect()
    assert sorted(gone) == ["context", "socket"]


class Echoless(ProtocolBase):
    """A third-party protocol in plain Python on the compiled protokit: one
    peer at a time, both directions (PAIR's behaviour, under another number)."""

    NAME = "ECHOLESS"

    def __init__(self, host: ProtocolHost) -> None:
        self._host = host
        self._excl = Exclusive()

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        return self._excl.add(pipe)

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        self._excl.remove(pipe)

    def send(self, msg: nn.Message) -> bool:
        return self._excl.send(msg)

    def recv(self) -> Optional[nn.Message]:
        return self._excl.recv()

    def can_send(self) -> bool:
        return self._excl.can_send()

    def can_recv(self) -> bool:
        return self._excl.can_recv()


ECHOLESS = 16 * 100 + 7


@pytest.fixture(scope="module")
def echoless() -> Iterator[int]:
    with protocol_plugin(ECHOLESS, "echoless", Echoless) as number:
        yield number


@pytest.mark.timeout(60)
def test_interpreted_protocol_over_compiled_transport(echoless: int) -> None:
    assert not isinstance(Echoless.add_pipe, type(len))      # plain Python methods
    with nn.Socket(nn.AF_SP, echoless) as a, nn.Socket(nn.AF_SP, echoless) as b:
        a.recv_timeout = b.recv_timeout = 5000
        url = "inproc://compiled-echoless"
        a.bind(url)
        b.connect(url)
        b.send(b"ping")
        assert a.recv() == b"ping"
        a.send(b"pong")
        assert b.recv() == b"pong"


@pytest.mark.timeout(60)
def test_interpreted_transport_on_compiled_stream_kit() -> None:
    mod = load_memstream()
    assert mod.__file__ is not None and mod.__file__.endswith(".py")
    with nn.Socket(nn.AF_SP, nn.REQ) as req, nn.Socket(nn.AF_SP, nn.REP) as rep:
        req.recv_timeout = rep.recv_timeout = 5000
        url = "memstream://compiled-%d" % threading.get_ident()
        rep.bind(url)
        req.connect(url)
        req.send(b"x" * 100_000)
        assert rep.recv() == b"x" * 100_000
        rep.send(b"ok")
        assert req.recv() == b"ok"


@pytest.mark.timeout(60)
def test_interpreted_protocol_with_interpreted_transport(echoless: int) -> None:
    load_memstream()
    with nn.Socket(nn.AF_SP, echoless) as a, nn.Socket(nn.AF_SP, echoless) as b:
        a.recv_timeout = b.recv_timeout = 5000
        url = "memstream://compiled-both-%d" % threading.get_ident()
        a.bind(url)
        b.connect(url)
        b.send(b"hello")
        assert a.recv() == b"hello"
