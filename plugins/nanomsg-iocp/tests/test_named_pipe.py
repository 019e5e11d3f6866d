"""ipc:// over named pipes: the name mapping, and whole connections through
the real engine on the completion logic (fake port and in-memory pipes on
any OS; real named pipes on Windows)."""

from __future__ import annotations

import errno
import subprocess
import sys
import textwrap

import pytest

import nanomsg_core as nn
from nanomsg_iocp import pipe_name

pytestmark = pytest.mark.timeout(60)


def test_pipe_name_is_nanomsgs() -> None:
    assert pipe_name("ipc://foo") == "\\\\.\\pipe\\foo"
    assert pipe_name("ipc:///tmp/x.ipc") == "\\\\.\\pipe\\/tmp/x.ipc"


@pytest.mark.parametrize("url", ["ipc://", "tcp://x", "ipc://a\0b", "ipc://" + "x" * 300])
def test_bad_names(url: str) -> None:
    with pytest.raises(nn.NanomsgError) as ei:
        pipe_name(url)
    assert ei.value.errno == errno.EINVAL


# The engine is process-wide, so each scenario runs in a fresh interpreter
# whose default poller is the completion logic over the socket fake, with
# the named-pipe transport registered as npipe:// over in-memory pipes.
_PRELUDE = textwrap.dedent("""
    import errno, sys, time
    import nanomsg_core as nn
    from nanomsg_iocp._fake import MemoryPipes, fake_poller
    from nanomsg_iocp._named_pipe import NamedPipeTransport

    pipes = MemoryPipes()

    class Fake:
        @nn.hookimpl
        def nanomsg_core_register(self, registry):
            registry.add_poller("iocp-fake", lambda: fake_poller(pipes), priority=100)
            registry.add_transport(NamedPipeTransport(pipes, scheme="npipe"))

    nn.register_plugin(Fake(), name="iocp-fake")
    assert nn.get_registry().default_poller().name == "iocp-fake"

    def pair(url, dial_first=False):
        a = nn.Socket(nn.AF_SP, nn.PAIR)
        b = nn.Socket(nn.AF_SP, nn.PAIR)
        for s in (a, b):
            s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
            s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 5000)
            s.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
        if dial_first:
            b.connect(url)
            time.sleep(0.1)
        eid = a.bind(url)
        if not dial_first:
            b.connect(a.endpoint_address(eid) if url.startswith("tcp") else url)
        return a, b
""")


def _run(body: str) -> None:
    code = _PRELUDE + textwrap.dedent(body) + "\nprint('OK')\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=50)
    assert out.returncode == 0 and out.stdout.strip().endswith("OK"), out.stdout + out.stderr


@pytest.mark.parametrize("url", ["tcp://127.0.0.1:0", "npipe://conv"])
def test_exchange_through_the_engine(url: str) -> None:
    _run("""
        a, b = pair(%r)
        b.send(b"hello")
        assert a.recv() == b"hello"
        big = bytes(range(256)) * 3000
        a.send(big)
        assert b.recv() == big
        for i in range(2000):
            b.send(b"m%%d" %% i)
        assert [a.recv() for i in range(2000)] == [b"m%%d" %% i for i in range(2000)]
        a.close(); b.close()
    """ % url)


def test_named_pipe_dialer_before_listener_reconnects() -> None:
    _run("""
        a, b = pair("npipe://late", dial_first=True)
        b.send(b"x")
        assert a.recv() == b"x"
    """)


def test_named_pipe_name_in_use() -> None:
    _run("""
        a, b = pair("npipe://taken")
        c = nn.Socket(nn.AF_SP, nn.PAIR)
        try:
            c.bind("npipe://taken")
        except nn.NanomsgError as e:
            assert e.errno == errno.EADDRINUSE, e
        else:
            raise AssertionError("second bind succeeded")
    """)


def test_named_pipe_many_clients_and_peer_close() -> None:
    _run("""
        srv = nn.Socket(nn.AF_SP, nn.PULL)
        srv.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
        srv.bind("npipe://fanin")
        clients = []
        for i in range(5):
            c = nn.Socket(nn.AF_SP, nn.PUSH)
            c.connect("npipe://fanin")
            clients.append(c)
        for i, c in enumerate(clients):
            c.send(b"c%d" % i)
        assert sorted(srv.recv() for _ in clients) == [b"c%d" % i for i in range(5)]
        for c in clients[:4]:
            c.close()
        clients[4].send(b"last")
        assert srv.recv() == b"last"
    """)


def test_named_pipe_wrong_protocol_is_refused() -> None:
    _run("""
        a = nn.Socket(nn.AF_SP, nn.PAIR)
        a.bind("npipe://proto")
        b = nn.Socket(nn.AF_SP, nn.PUSH)
        b.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 300)
        b.connect("npipe://proto")
        try:
            b.send(b"x")
        except nn.NanomsgError as e:
            assert e.errno == errno.ETIMEDOUT, e
        else:
            raise AssertionError("a PUSH got a pipe to a PAIR")
    """)


@pytest.mark.skipif(sys.platform != "win32", reason="real named pipes exist on Windows only")
def test_real_named_pipes() -> None:
    a = nn.Socket(nn.AF_SP, nn.PAIR)
    b = nn.Socket(nn.AF_SP, nn.PAIR)
    try:
        for s in (a, b):
            s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
        a.bind("ipc://nanomsg-iocp-test")
        b.connect("ipc://nanomsg-iocp-test")
        b.send(b"over a named pipe")
        assert a.recv() == b"over a named pipe"
        big = b"y" * 500_000
        a.send(big)
        assert b.recv() == big
    finally:
        a.close()
        b.close()
