"""ipc:// over named pipes: the name mapping, and whole connections through
the real engine on the completion logic (fake port and in-memory pipes on
any OS; real named pipes on Windows)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap

import pytest

import nanomsg_core as nn
from nanomsg_iocp import pipe_name
from tests.support import WINE_FIRST_PIPE_INSTANCE

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


def _run(body: str, timeout: float = 50) -> None:
    code = _PRELUDE + textwrap.dedent(body) + "\nprint('OK')\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=timeout)
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


@pytest.mark.skipif(sys.platform != "win32", reason="real named pipes exist on Windows only")
@WINE_FIRST_PIPE_INSTANCE
def test_real_named_pipe_served_twice_is_eaddrinuse() -> None:
    a = nn.Socket(nn.AF_SP, nn.PAIR)
    b = nn.Socket(nn.AF_SP, nn.PAIR)
    try:
        a.bind("ipc://nanomsg-iocp-twice-%d" % os.getpid())
        with pytest.raises(nn.NanomsgError) as info:
            b.bind("ipc://nanomsg-iocp-twice-%d" % os.getpid())
        assert info.value.errno == errno.EADDRINUSE
    finally:
        a.close()
        b.close()


def test_named_pipe_back_pressure_both_ways() -> None:
    _run("""
        a = nn.Socket(nn.AF_SP, nn.PAIR)
        b = nn.Socket(nn.AF_SP, nn.PAIR)
        a.setsockopt(nn.SOL_SOCKET, nn.RCVBUF, 8192)      # reading pauses often
        b.setsockopt(nn.SOL_SOCKET, nn.SNDBUF, 8192)      # sends wait for the queue to drain
        for s in (a, b):
            s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
            s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 5000)
        a.bind("npipe://bp")
        b.connect("npipe://bp")
        import threading
        msgs = [bytes([i % 256]) * (1000 + i) for i in range(300)]
        t = threading.Thread(target=lambda: [b.send(m) for m in msgs])
        t.start()
        time.sleep(0.3)                                   # let both queues fill up
        got = [a.recv() for _ in msgs]
        t.join(10)
        assert got == msgs
    """)


def test_named_pipe_handshake_timeout_frees_the_instance() -> None:
    _run("""
        a = nn.Socket(nn.AF_SP, nn.PAIR)
        a.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
        a.bind("npipe://mute")
        mute = pipes.open("\\\\\\\\.\\\\pipe\\\\mute")        # a client that never says hello
        server_ends = lambda: [e for e in pipes._ends.values() if e.server and e.sock is not None]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not server_ends():
            time.sleep(0.01)
        assert server_ends(), "the listener never took the client"
        time.sleep(1.5)                                   # past the 1 s SP handshake timeout
        assert not server_ends(), "the silent client's instance was not closed"
        assert a.get_statistic(nn.STAT_ACCEPT_ERRORS) == 1
        b = nn.Socket(nn.AF_SP, nn.PAIR)
        b.connect("npipe://mute")
        b.send(b"still serving")
        assert a.recv() == b"still serving"
    """)


def test_named_pipe_peer_close_drops_the_pipe_and_redials() -> None:
    _run("""
        a, b = pair("npipe://redial")
        b.send(b"one")
        assert a.recv() == b"one"
        old = b.pipes[0]
        a.close()
        a = nn.Socket(nn.AF_SP, nn.PAIR)
        a.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
        deadline = time.monotonic() + 5
        while True:
            try:
                a.bind("npipe://redial")
                break
            except nn.NanomsgError:
                assert time.monotonic() < deadline, "the old instance was never released"
                time.sleep(0.05)
        while not any(p is not old for p in b.pipes):     # b reconnects by itself; a send
            assert time.monotonic() < deadline + 10, "b never reconnected"   # before that
            time.sleep(0.01)                              # would go down the dead pipe
        b.send(b"two")
        assert a.recv() == b"two"
    """)


def test_reqrep_over_tcp_on_the_completion_logic() -> None:
    _run("""
        rep = nn.Socket(nn.AF_SP, nn.REP)
        req = nn.Socket(nn.AF_SP, nn.REQ)
        for s in (rep, req):
            s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
        eid = rep.bind("tcp://127.0.0.1:0")
        req.connect(rep.endpoint_address(eid))
        for i in range(200):
            req.send(b"q%d" % i)
            assert rep.recv() == b"q%d" % i
            rep.send(b"a%d" % i)
            assert req.recv() == b"a%d" % i
    """)


def test_named_pipe_rcvmaxsize_drops_the_connection() -> None:
    _run("""
        a, b = pair("npipe://maxsize")
        a.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, 1000)   # live, as nanomsg reads it
        a.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 500)
        b.send(b"small")
        assert a.recv() == b"small"
        b.send(b"z" * 5000)
        try:
            a.recv()
        except nn.NanomsgError as e:
            assert e.errno == errno.ETIMEDOUT, e
        else:
            raise AssertionError("an oversized frame was delivered")
    """)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("scheme", ["npipe", "tcp"])
def test_check_transport_on_the_completion_logic(scheme: str) -> None:
    """Every transport check (LINGER, a stalled receiver, a peer gone
    mid-stream...) over the completion poller: named pipes are the kit's
    StreamPipe on a NamedPipeStream, tcp its SocketStream on the poller."""
    _run("""
        import itertools, socket
        from nanomsg_core.testing import check_transport
        names = itertools.count()

        def new_url():
            if %r == "npipe":
                return "npipe://kit-%%d" %% next(names)
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                return "tcp://127.0.0.1:%%d" %% probe.getsockname()[1]
        check_transport(new_url)
    """ % scheme, timeout=280)


def test_named_pipe_linger_delivers_a_burst_closed_at_once() -> None:
    """LINGER on a named pipe: 600 messages sent, then close at once; all
    arrive, in order (the kit's StreamPipe writes the queue out first)."""
    _run("""
        pull = nn.Socket(nn.AF_SP, nn.PULL)
        pull.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
        pull.bind("npipe://linger")
        push = nn.Socket(nn.AF_SP, nn.PUSH)
        push.setsockopt(nn.SOL_SOCKET, nn.LINGER, 10000)
        push.connect("npipe://linger")
        while not push.pipes:
            time.sleep(0.01)
        for i in range(600):
            push.send(b"%05d" %% i + b"x" * 200)
        push.close()
        got = [pull.recv()[:5] for _ in range(600)]
        assert got == [b"%05d" %% i for i in range(600)]
    """.replace("%%", "%"))


_BURST_THEN_TRIMMED = """
    import threading
    from nanomsg_core.stream import sending
    window = sending.BATCH_WINDOW
    # every send of the burst joins a batch, so it arrives in big writes
    # however the threads are scheduled (with the real window a sender slowed
    # by a loaded machine writes each 100 B message alone, and a reader that
    # keeps up never fills its buffer)
    sending.BATCH_WINDOW = 3600.0
    try:
        t = threading.Thread(target=lambda: [b.send(b"b" * 100) for i in range(20000)])
        t.start()
        grew = False
        for i in range(20000):  # sampled as it goes: the trimmer may act before the end
            assert a.recv() == b"b" * 100
            grew = grew or dec.grown
        t.join(30)
    finally:
        sending.BATCH_WINDOW = window
    assert grew, "a burst did not grow the receive buffer"
    deadline = time.monotonic() + 30
    while dec.grown:                            # TRIM_AFTER (1 s) idle, then a tick
        assert time.monotonic() < deadline, "the idle buffer was never trimmed"
        time.sleep(0.05)
    b.send(b"after")
    assert a.recv() == b"after"
    a.send(b"back")
    assert b.recv() == b"back"
"""
"""A burst from ``b`` grows ``a``'s receive buffer (``dec``, its decoder);
idle, the kit's trimmer takes it back; nothing is lost around that."""


@pytest.mark.parametrize("url", ["tcp://127.0.0.1:0", "npipe://trim"])
def test_idle_receive_buffer_is_trimmed_on_the_completion_logic(url: str) -> None:
    """A completion read pins its buffer, so the kit's idle trimmer cancels
    it and reads again into the small one: the grown buffer drops back."""
    _run(textwrap.dedent("""
        a, b = pair(%r)
        while not a.pipes:
            time.sleep(0.01)
        dec = a.pipes[0]._tp._dec                   # the receiving connection's decoder
        assert not dec.grown
    """ % url) + textwrap.dedent(_BURST_THEN_TRIMMED))


@pytest.mark.skipif(sys.platform != "win32", reason="a real completion port exists on Windows only")
@pytest.mark.parametrize("url", ["tcp://127.0.0.1:0", "ipc://nanomsg-iocp-trim-%d" % os.getpid()])
def test_real_idle_receive_buffer_is_trimmed(url: str) -> None:
    """On the real port: CancelIoEx of the idle WSARecv/ReadFile, then a read
    into the small buffer."""
    import time
    a = nn.Socket(nn.AF_SP, nn.PAIR)
    b = nn.Socket(nn.AF_SP, nn.PAIR)
    try:
        for s in (a, b):
            s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
            s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 10000)
        eid = a.bind(url)
        b.connect(a.endpoint_address(eid))
        deadline = time.monotonic() + 10
        while not a.pipes:
            assert time.monotonic() < deadline, "never connected"
            time.sleep(0.01)
        dec = a.pipes[0]._tp._dec                   # type: ignore[attr-defined]
        exec(textwrap.dedent(_BURST_THEN_TRIMMED), {"a": a, "b": b, "dec": dec, "time": time})
    finally:
        a.close()
        b.close()
