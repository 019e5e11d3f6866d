"""A connection that a blocked receiver reads itself stays with it between
receives (``KEPT``); reading it again (``REREADING``) keeps its hang-up
watch and idle keeper entry, so keeping it once more registers nothing
(``RENEW``).  A peer that hangs up while the receiver waits on such a
connection is still noticed, and the receiver goes on waiting."""

from __future__ import annotations

import threading
from typing import Any, Iterator

import pytest

import nanomsg_core as nn
from nanomsg_core.sockets._waker import HAVE_DIRECT
from tests.support import Urls, sock, wait_pipes, wait_until
from tests.transports.helpers import KeeperVisits

pytestmark = pytest.mark.skipif(not HAVE_DIRECT, reason="direct reads need eventfd (Linux)")

ROUNDS = 200


@pytest.fixture(params=["tcp", "ipc"])
def urls(request: pytest.FixtureRequest) -> Iterator[Urls]:
    u = Urls(request.param)
    yield u
    u.cleanup()


class CountingPoller:
    """Stands in for a connection's poller: forwards everything, counts
    the hang-up watches asked for."""

    def __init__(self, poller: Any) -> None:
        self._poller = poller
        self.watches = 0

    def watch_hangup(self, *args: Any) -> None:
        self.watches += 1
        self._poller.watch_hangup(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._poller, name)


def _stream_pipe(s: nn.Socket) -> Any:
    (pipe,) = s.pipes
    return pipe._tp                                 # type: ignore[attr-defined]


def _count_watches(s: nn.Socket) -> CountingPoller:
    tp = _stream_pipe(s)
    counting = CountingPoller(tp._dpoller)
    tp._dpoller = counting
    return counting


def _state(s: nn.Socket) -> str:
    return str(_stream_pipe(s)._reads.state.name)


@pytest.mark.timeout(120)
def test_a_kept_connection_read_again_asks_for_no_new_hangup_watch(urls: Urls) -> None:
    url = urls()
    with sock(nn.PAIR, timeout=20000) as a, sock(nn.PAIR, timeout=20000) as b:
        a.bind(url)
        b.connect(url)
        wait_pipes(a, 1)
        wait_pipes(b, 1)

        def echo() -> None:
            for _ in range(ROUNDS + 1):
                a.send(a.recv())
        th = threading.Thread(target=echo, daemon=True)
        th.start()
        b.send(b"first")                    # both sides read directly, then keep
        assert b.recv() == b"first"
        counters = [_count_watches(a), _count_watches(b)]
        for i in range(ROUNDS):
            b.send(b"%d" % i)
            assert b.recv() == b"%d" % i
        th.join(20)
        assert not th.is_alive()
        assert _state(b) in ("KEPT", "REREADING"), "not read directly: the test proves nothing"
        for counting in counters:
            # one per receive before (2 * ROUNDS in all); now one only when the
            # engine took the connection back between two receives (a stall)
            assert counting.watches <= ROUNDS // 4, counting.watches


@pytest.mark.timeout(120)
def test_a_hangup_while_the_receiver_waits_on_a_kept_connection(urls: Urls) -> None:
    url = urls()
    with sock(nn.PULL, timeout=60000) as pull:
        pull.bind(url)
        got: list[bytes] = []
        errors: list[BaseException] = []

        def receive() -> None:
            try:
                while True:
                    got.append(pull.recv())
                    if got[-1] == b"after":
                        return
            except BaseException as e:      # reported by the main thread
                errors.append(e)
        th = threading.Thread(target=receive, daemon=True)
        with sock(nn.PUSH) as push:
            push.connect(url)
            wait_pipes(pull, 1)
            th.start()

            def waiting_on_a_kept_connection() -> bool:
                state = _state(pull)
                if state == "REREADING":
                    return True
                if state == "DIRECT":       # waits on a connection it took from the
                    n = len(got)            # engine: one message read makes it kept
                                            # (its read before parking mostly did already)
                    push.send(b"%d" % n)
                    wait_until(lambda: len(got) > n, 20, "a message")
                return False
            wait_until(waiting_on_a_kept_connection, 30,
                       "the receiver waiting on its kept connection")
        wait_until(lambda: not pull.pipes, 20, "the hang-up noticed")
        assert th.is_alive() and not errors, errors
        with sock(nn.PUSH) as push:
            push.connect(url)
            wait_pipes(pull, 1)
            push.send(b"after")
            th.join(20)
        assert not th.is_alive() and not errors, errors
        assert got == [b"%d" % i for i in range(len(got) - 1)] + [b"after"]


class _KeptPair:
    """A receiving PAIR, its sending peer, and the receiving pipe's state."""

    def __init__(self, url: str) -> None:
        self.rx = sock(nn.PAIR, timeout=60000)
        self.tx = sock(nn.PAIR, timeout=60000)
        self.rx.bind(url)
        self.tx.connect(url)
        wait_pipes(self.rx, 1)
        wait_pipes(self.tx, 1)

    def state(self) -> str:
        return _state(self.rx)

    def reading(self) -> bool:
        """A thread waits in ``recv`` reading the connection itself (taken
        from the engine: ``DIRECT``; kept from before: ``REREADING``)."""
        return self.state() in ("DIRECT", "REREADING")

    def close(self) -> None:
        self.tx.close()
        self.rx.close()


def _engine_delivers(s: nn.Socket, expected: bytes) -> None:
    """Wait until *s* receives *expected* without blocking: the engine read it."""
    def arrived() -> bool:
        try:
            return s.recv(nn.DONTWAIT) == expected
        except nn.NanomsgError:
            return False
    wait_until(arrived, 20, "the message the engine read")


@pytest.mark.timeout(120)
def test_a_thread_busy_on_another_socket_keeps_its_connection_up_to_busy_hold(
        urls: Urls, monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread that kept one connection and now waits on another socket's
    stays its reader past IDLE_RETURN (it serves its sockets in turn), and
    only for BUSY_HOLD: then the engine reads it again, and a message sent
    meanwhile is received without that thread."""
    from nanomsg_core.stream import receiving
    monkeypatch.setattr(receiving, "BUSY_HOLD", 3600.0)
    visits = KeeperVisits()
    first, second = _KeptPair(urls()), _KeptPair(urls())
    try:
        got: list[bytes] = []

        def serve_in_turn() -> None:
            got.append(first.rx.recv())      # reads its connection, then keeps it
            got.append(second.rx.recv())     # ...while it waits here
        th = threading.Thread(target=serve_in_turn, daemon=True)
        th.start()
        wait_until(first.reading, 20, "the thread reading its first socket")
        first.tx.send(b"one")
        wait_until(lambda: got == [b"one"] and first.state() == "KEPT", 20, "the first kept")
        wait_until(second.reading, 20, "the thread waiting on the second")
        seen = len(visits)
        wait_until(lambda: len(visits) >= seen + 6, 20, "the idle keeper's visits")
        assert first.state() == "KEPT", "returned while its thread was busy elsewhere"

        first.tx.send(b"two")                # not read: nobody reads the first socket now
        monkeypatch.setattr(receiving, "BUSY_HOLD", 0.2)
        wait_until(lambda: first.state() == "ENGINE", 20, "the engine to take it back")
        _engine_delivers(first.rx, b"two")
        second.tx.send(b"three")
        th.join(20)
        assert got == [b"one", b"three"]
    finally:
        first.close()
        second.close()


@pytest.mark.timeout(120)
def test_a_thread_that_stopped_reading_gives_its_connection_back_after_idle_return(
        urls: Urls, monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread that kept a connection and then waits on no connection at
    all (here: an event) is not busy: the engine takes the connection back
    after IDLE_RETURN, however long BUSY_HOLD is."""
    from nanomsg_core.stream import receiving
    monkeypatch.setattr(receiving, "BUSY_HOLD", 3600.0)
    pair = _KeptPair(urls())
    try:
        got: list[bytes] = []
        done = threading.Event()

        def read_once_then_wait_elsewhere() -> None:
            got.append(pair.rx.recv())
            done.wait(60)
        th = threading.Thread(target=read_once_then_wait_elsewhere, daemon=True)
        th.start()
        wait_until(pair.reading, 20, "the thread reading")
        pair.tx.send(b"one")
        wait_until(lambda: got == [b"one"], 20, "the first message")
        wait_until(lambda: pair.state() == "ENGINE", 20, "the engine to take it back")
        pair.tx.send(b"two")
        _engine_delivers(pair.rx, b"two")
        done.set()
        th.join(20)
    finally:
        pair.close()


@pytest.mark.timeout(120)
def test_a_blocked_recv_reads_what_is_there_before_it_waits(
        urls: Urls, monkeypatch: pytest.MonkeyPatch) -> None:
    """A receiver whose kept connection already holds its next message takes
    it with no wait at all: it reads before it parks, and the message comes
    from that read, not from the engine.  No ``poll`` either, but one of
    timeout 0 after such a read found nothing (here, the first ``recv``'s:
    it started before its message was sent), which is cheaper than a read
    that fails."""
    import select

    from nanomsg_core.sockets import _waker
    from nanomsg_core.stream import receiving
    monkeypatch.setattr(receiving, "IDLE_RETURN", 3600.0)   # kept however slow the machine
    pair = _KeptPair(urls())
    try:
        got: list[bytes] = []
        th = threading.Thread(target=lambda: got.append(pair.rx.recv()), daemon=True)
        th.start()
        wait_until(pair.reading, 20, "the thread reading")
        pair.tx.send(b"first")
        th.join(20)
        assert got == [b"first"]
        wait_until(lambda: pair.state() == "KEPT", 20, "the connection kept")
        waits: list[int] = []       # their timeouts
        original = _waker.Waker.wait_readable

        def counted(self: Any, fd: int, timeout_ms: int) -> bool:
            waits.append(timeout_ms)
            return original(self, fd, timeout_ms)
        monkeypatch.setattr(_waker.Waker, "wait_readable", counted)
        fd = _stream_pipe(pair.rx).direct_fd()
        for i in range(20):
            pair.tx.send(b"%d" % i)
            wait_until(lambda: select.select([fd], [], [], 0)[0] != [], 20,
                       "the message in the receiver's socket")
            assert pair.state() == "KEPT"       # nobody else has read it
            assert pair.rx.recv() == b"%d" % i
        assert waits in ([], [0]), "waited for a message that was there already: %r" % waits
    finally:
        pair.close()


def _unread_bytes(fd: int) -> int:
    """Bytes in *fd*'s receive buffer (``FIONREAD``)."""
    import array
    import fcntl
    import termios
    buf = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return buf[0]


class _AskedMachine:
    """Stands in for a socket's protocol: forwards everything, counts the
    receive attempts (with and without a message)."""

    def __init__(self, proto: Any) -> None:
        self._proto = proto
        self.asked = 0
        self.missed = 0

    def recv_body(self) -> Any:
        self.asked += 1
        got = self._proto.recv_body()
        self.missed += got is None
        return got

    def recv(self) -> Any:
        self.asked += 1
        got = self._proto.recv()
        self.missed += got is None
        return got

    def __getattr__(self, name: str) -> Any:
        return getattr(self._proto, name)


@pytest.mark.timeout(120)
def test_a_receiver_whose_message_was_there_last_time_reads_before_it_asks(
        urls: Urls, monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread serving many sockets in turn mostly finds each reply waiting
    in the kernel.  Once a blocked ``recv``'s early read found its message,
    the next ``recv`` reads first and asks its protocol once: no attempt
    that misses, no parking (``Door.recv``)."""
    import select

    from nanomsg_core.stream import receiving
    monkeypatch.setattr(receiving, "IDLE_RETURN", 3600.0)   # kept however slow the machine
    pair = _KeptPair(urls())
    try:
        got: list[bytes] = []                   # taken from the engine before any data
        th = threading.Thread(target=lambda: got.append(pair.rx.recv()), daemon=True)
        th.start()                              # comes (else the engine may see it first)
        wait_until(pair.reading, 20, "the thread reading")
        pair.tx.send(b"first")
        th.join(20)
        assert got == [b"first"]
        wait_until(lambda: pair.state() == "KEPT", 20, "the connection kept")
        machine = _AskedMachine(pair.rx._proto)     # type: ignore[attr-defined]
        pair.rx._proto = machine                    # type: ignore[attr-defined]
        fd = _stream_pipe(pair.rx).direct_fd()
        rounds = 20
        for i in range(rounds + 1):
            if i == 1:                          # the first one's early read found it
                machine.asked = machine.missed = 0
            pair.tx.send(b"%d" % i)
            wait_until(lambda: select.select([fd], [], [], 0)[0] != [], 20,
                       "the message in the receiver's socket")
            assert pair.state() == "KEPT"       # nobody else has read it
            assert pair.rx.recv() == b"%d" % i
        assert (machine.asked, machine.missed) == (rounds, 0), (
            "asked %d times, missed %d" % (machine.asked, machine.missed))

        # Messages queued already are taken with no read: five in the
        # kernel, the first recv's read brings them all, the other four
        # receives read nothing.
        reads: list[int] = []
        (pipe,) = pair.rx.pipes
        direct = pipe._direct_recv                  # type: ignore[attr-defined]

        def counted(timeout_ms: int, waker: Any) -> bool:
            reads.append(timeout_ms)
            return bool(direct(timeout_ms, waker))
        pipe._direct_recv = counted                 # type: ignore[attr-defined]
        burst = [b"burst %d" % i for i in range(5)]
        for m in burst:
            pair.tx.send(m)
        size = sum(len(m) for m in burst) + len(burst) * (8 if urls.transport == "tcp" else 9)
        wait_until(lambda: _unread_bytes(fd) >= size, 20, "the burst in the receiver's socket")
        assert [pair.rx.recv() for _ in burst] == burst
        assert reads == [0], "reads with messages queued: %r" % reads
    finally:
        pair.close()
