"""A thread blocked in ``recv`` on a socket with several connections reads
them itself (``nanomsg_core.sockets._direct``): nothing lost, nothing
stalled, every wake-up still arrives, and the set really is what reads.

Each test spies on :class:`DirectSet` (or switches it off) to prove which
path ran: a test of the set that passes with the set unused cannot fail.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
from typing import Any, Iterator, Optional

import pytest

import nanomsg_core as nn
from nanomsg_core.engine._selector_poller import SelectorPoller
from nanomsg_core.sockets import _core, _direct
from tests.support import Urls, errno_of, free_port, sock, wait_pipes, wait_until
from tests.transports.helpers import KeeperVisits

_names = itertools.count()

pytestmark = pytest.mark.skipif(not _direct.HAVE_DIRECT_SET,
                                reason="the direct set needs epoll and eventfd (Linux)")


class Spy:
    """Counts what the set's ``read`` did, and signals when a thread polls it."""

    def __init__(self) -> None:
        self.took = 0           # reads that returned True with members present
        self.entered = threading.Event()
        self.lock = threading.Lock()


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Spy]:
    s = Spy()
    original = _core.SocketCore._read_direct_set     # an interpreted class in every build

    def read(self: _core.SocketCore, timeout_ms: int, waker: Any) -> bool:
        s.entered.set()
        done = original(self, timeout_ms, waker)
        if done and self._direct is not None and self._direct._readers:
            with s.lock:
                s.took += 1
        return done
    monkeypatch.setattr(_core.SocketCore, "_read_direct_set", read)
    yield s


@pytest.fixture(params=["tcp", "ipc"])
def urls(request: pytest.FixtureRequest) -> Iterator[Urls]:
    u = Urls(request.param)
    yield u
    u.cleanup()


def _serve(rep: nn.Socket, stop: threading.Event) -> threading.Thread:
    def loop() -> None:
        while not stop.is_set():
            try:
                rep.send(rep.recv())
            except nn.NanomsgError:
                return
    th = threading.Thread(target=loop, daemon=True)
    th.start()
    return th


@pytest.mark.timeout(120)
def test_rep_answers_many_clients_through_the_set(urls: Urls, spy: Spy) -> None:
    url = urls()
    stop = threading.Event()
    with sock(nn.REP, timeout=10000) as rep:
        rep.bind(url)
        clients = [sock(nn.REQ, timeout=10000) for _ in range(20)]
        try:
            for c in clients:
                c.connect(url)
            wait_pipes(rep, len(clients), 10)
            th = _serve(rep, stop)
            for wave in range(50):
                for i, c in enumerate(clients):
                    c.send(b"%d-%d" % (i, wave))
                for i, c in enumerate(clients):
                    assert c.recv() == b"%d-%d" % (i, wave)
        finally:
            stop.set()
            for c in clients:
                c.close()
        rep.close()
        th.join(10)
    assert spy.took > 0, "the blocked REP never read its connections itself"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("use_set", [True, False], ids=["set", "engine"])
def test_pull_gets_every_message_of_many_pushers(urls: Urls, spy: Spy, use_set: bool,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    if not use_set:
        monkeypatch.setattr(_core, "HAVE_DIRECT_SET", False)
    url = urls()
    n_pushers, each = 8, 300
    with sock(nn.PULL, timeout=10000) as pull:
        pull.bind(url)
        pushers = [sock(nn.PUSH, timeout=10000) for _ in range(n_pushers)]
        try:
            for p in pushers:
                p.connect(url)
            wait_pipes(pull, n_pushers, 10)
            for rnd in range(50):             # in step: the receiver waits each round
                for k, p in enumerate(pushers):
                    p.send(b"%d" % k)
                assert sorted(int(pull.recv()) for _ in pushers) == list(range(n_pushers))

            def push(k: int) -> None:         # then a flood
                for j in range(each):
                    pushers[k].send(b"%d:%d" % (k, j))
            threads = [threading.Thread(target=push, args=(k,)) for k in range(n_pushers)]
            for t in threads:
                t.start()
            seen = [-1] * n_pushers
            for _ in range(n_pushers * each):
                k, j = map(int, pull.recv().split(b":"))
                assert j == seen[k] + 1, "pusher %d: %d after %d" % (k, j, seen[k])
                seen[k] = j
            for t in threads:
                t.join(10)
        finally:
            for p in pushers:
                p.close()
    assert seen == [each - 1] * n_pushers
    if use_set:
        assert spy.took > 0
    else:
        assert spy.took == 0 and not spy.entered.is_set()


def _blocked_recv(s: nn.Socket) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["got"] = s.recv()
        except nn.NanomsgError as e:
            out["error"] = e
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th, out


@contextlib.contextmanager
def _pull_with_two_idle_tcp_and_inproc() -> Iterator[tuple[nn.Socket, nn.Socket]]:
    """A PULL with two idle tcp pushers (its set) and an inproc one (not in it)."""
    url = "tcp://127.0.0.1:%d" % free_port()
    name = "inproc://direct-set-%d" % next(_names)
    with sock(nn.PULL, timeout=20000) as pull:
        pull.bind(url)
        pull.bind(name)
        idle = [sock(nn.PUSH) for _ in range(2)]
        local = sock(nn.PUSH)
        try:
            for p in idle:
                p.connect(url)
            local.connect(name)
            wait_pipes(pull, 3)
            yield pull, local
        finally:
            for p in (*idle, local):
                p.close()


@pytest.mark.timeout(60)
def test_an_inproc_message_wakes_a_thread_polling_the_set(spy: Spy) -> None:
    with _pull_with_two_idle_tcp_and_inproc() as (pull, local):
        th, out = _blocked_recv(pull)
        assert spy.entered.wait(10), "the receiver never polled the set"
        t0 = time.monotonic()
        local.send(b"from inproc")
        th.join(10)
        assert out.get("got") == b"from inproc"
        assert time.monotonic() - t0 < 5


@pytest.mark.timeout(60)
def test_close_wakes_a_thread_polling_the_set(spy: Spy) -> None:
    url = "tcp://127.0.0.1:%d" % free_port()
    pull = sock(nn.PULL, timeout=-1)
    pushers = [sock(nn.PUSH) for _ in range(2)]
    try:
        pull.bind(url)
        for p in pushers:
            p.connect(url)
        wait_pipes(pull, 2)
        th, out = _blocked_recv(pull)
        assert spy.entered.wait(10)
        pull.close()
        th.join(10)
        assert not th.is_alive(), "close did not wake the receiver"
        assert out["error"].errno in (nn.EBADF, nn.ETERM)
    finally:
        for p in pushers:
            p.close()


@pytest.mark.timeout(60)
def test_recv_times_out_with_idle_connections(spy: Spy) -> None:
    url = "tcp://127.0.0.1:%d" % free_port()
    with sock(nn.PULL, timeout=200) as pull:
        pull.bind(url)
        pushers = [sock(nn.PUSH) for _ in range(3)]
        try:
            for p in pushers:
                p.connect(url)
            wait_pipes(pull, 3)
            assert errno_of(pull.recv) == nn.ETIMEDOUT
            assert spy.entered.is_set()
        finally:
            for p in pushers:
                p.close()


@pytest.mark.timeout(120)
def test_peers_come_and_go_while_the_set_reads(urls: Urls, spy: Spy) -> None:
    """Connections kept by the set hang up, new ones (often on the same fd
    numbers) arrive: every message of every live pusher still arrives."""
    url = urls()
    with sock(nn.PULL, timeout=10000) as pull:
        pull.bind(url)
        steady = sock(nn.PUSH)
        steady.connect(url)
        wait_pipes(pull, 1)
        try:
            for rnd in range(15):
                batch = [sock(nn.PUSH) for _ in range(3)]
                for p in batch:
                    p.connect(url)
                wait_pipes(pull, 4, 10)
                for k, p in enumerate(batch):
                    p.send(b"%d-%d" % (rnd, k))
                steady.send(b"steady-%d" % rnd)
                got = {pull.recv() for _ in range(4)}
                assert got == {b"%d-%d" % (rnd, k) for k in range(3)} | {b"steady-%d" % rnd}
                for p in batch:
                    p.close()
                wait_until(lambda: len(pull.pipes) == 1, 10, "the closed pushers to go")
        finally:
            steady.close()
    assert spy.took > 0


def test_a_detached_hangup_watch_stays_registered_until_it_fires() -> None:
    """The poller side: taking a hang-up watch away and giving it back costs
    no epoll_ctl; a hang-up meanwhile is dropped once, with no spin."""
    poller = SelectorPoller()
    a, b = socket.socketpair()
    a.setblocking(False)
    fired: list[int] = []
    try:
        poller.recv_into(a, memoryview(bytearray(64)), lambda n, err: None)
        assert poller.detach_read(a)      # a receive's detach does unregister
        h = poller._handles[a.fileno()]
        assert h.mask == 0
        poller.watch_hangup(a, lambda: fired.append(1))
        mask = h.mask
        assert poller.detach_read(a)
        assert h.mask == mask, "the detach re-registered"
        poller.watch_hangup(a, lambda: fired.append(2))
        assert h.mask == mask
        assert poller.detach_read(a)
        b.close()
        poller.wait(1.0)                # fires: no operation, the watch is dropped
        assert fired == [] and h.mask == 0
        poller.watch_hangup(a, lambda: fired.append(3))
        poller.wait(1.0)
        assert fired == [3]
    finally:
        poller.cancel(a)
        a.close()
        poller.close()


class _DeliverAfterAttempt:
    """Stands for a socket's protocol: after its *nth* ``recv_body`` found
    nothing, a message is delivered from another thread before the call
    returns (the socket's lock is held meanwhile; deliveries do not take it)."""

    def __init__(self, proto: Any, nth: int, deliver: Any) -> None:
        self._proto = proto
        self._calls = itertools.count(1)
        self._nth = nth
        self._deliver = deliver
        self.injected = threading.Event()

    def recv_body(self) -> Any:
        body = self._proto.recv_body()
        if next(self._calls) == self._nth and body is None:
            t = threading.Thread(target=self._deliver)
            t.start()
            t.join(10)
            self.injected.set()
        return body

    def __getattr__(self, name: str) -> Any:
        return getattr(self._proto, name)


@pytest.mark.timeout(60)
def test_a_wake_up_just_before_the_poll_is_not_lost() -> None:
    """A message delivered after the receiver's last attempt but before it
    starts polling releases its lock without writing its wake-up fd: the
    receiver must notice that and not poll (it would wait for RCVTIMEO).
    A blocked ``recv`` tries once, reads what is there, then parks and tries
    again: the message comes during that second try, once it found nothing."""
    with _pull_with_two_idle_tcp_and_inproc() as (pull, local):
        door: Any = pull
        proto = door._proto
        seam = _DeliverAfterAttempt(proto, 2, lambda: local.send(b"in the window"))
        door._proto = seam
        try:
            t0 = time.monotonic()
            assert pull.recv() == b"in the window"
        finally:
            door._proto = proto
        assert seam.injected.is_set(), "the receiver did not try twice: the window was not reached"
        assert time.monotonic() - t0 < 10, "the wake-up was lost until RCVTIMEO"


def _read_states(s: nn.Socket) -> list[str]:
    return [p._tp._reads.state.name for p in s.pipes]  # type: ignore[attr-defined]


@pytest.mark.timeout(120)
def test_the_set_keeps_idle_connections_while_it_waits_then_returns_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Idle connections stay with a thread waiting in the set (no churn
    between the set and the engine); once no thread waits, the engine
    reads them again."""
    visits = KeeperVisits()
    inside = [0]
    original_read = _core.SocketCore._read_direct_set

    def read(self: _core.SocketCore, timeout_ms: int, waker: Any) -> bool:
        inside[0] += 1
        try:
            return original_read(self, timeout_ms, waker)
        finally:
            inside[0] -= 1
    monkeypatch.setattr(_core.SocketCore, "_read_direct_set", read)
    url = "tcp://127.0.0.1:%d" % free_port()
    with sock(nn.PULL, timeout=30000) as pull:
        pull.bind(url)
        pushers = [sock(nn.PUSH) for _ in range(3)]
        got: list[bytes] = []
        stop = threading.Event()

        def receive() -> None:
            while not stop.is_set():
                try:
                    got.append(pull.recv())
                except nn.NanomsgError:
                    return
        th = threading.Thread(target=receive, daemon=True)
        try:
            for p in pushers:
                p.connect(url)
            wait_pipes(pull, 3)
            th.start()

            def kept_while_waiting() -> bool:
                if inside[0] == 1 and _read_states(pull) == ["KEPT"] * 3:
                    return True
                n = len(got)                # a round: the set reads each connection
                for k, p in enumerate(pushers):
                    p.send(b"%d" % k)
                wait_until(lambda: len(got) >= n + 3, 10, "a round")
                # The receiver is back in the set at once, unless a connection
                # was the engine's just then: it then sleeps on its lock (no
                # message is lost), and the next round wakes it.
                end = time.monotonic() + 10
                while inside[0] != 1 and time.monotonic() < end:
                    time.sleep(0.005)
                return False
            wait_until(kept_while_waiting, 30, "every connection kept by a waiting set")
            seen = len(visits)
            wait_until(lambda: len(visits) >= seen + 6, 20, "the idle keeper's visits")
            assert inside[0] == 1
            assert _read_states(pull) == ["KEPT"] * 3, "returned while the set waited"
            stop.set()
            pushers[0].send(b"last")        # the receiver returns, and waits no more
            th.join(10)
            assert not th.is_alive()
            wait_until(lambda: _read_states(pull) == ["ENGINE"] * 3, 20,
                       "the engine to take the connections back")
        finally:
            stop.set()
            for p in pushers:
                p.close()


class _ReaderWinsTheRace:
    """Stands for the poller's epoll backend: each ``poll`` returns the
    real events, then a direct reader runs before the engine handles them
    (detach the engine's receive, read the data, keep the connection with
    a hang-up watch): the race that leaves the engine a stale data event."""

    def __init__(self, backend: Any, poller: SelectorPoller, sock: socket.socket,
                 on_hangup: Any) -> None:
        self._be = backend
        self._poller = poller
        self._sock = sock
        self._on_hangup = on_hangup
        self.direct_reads = backend.direct_reads
        self.raced = 0

    def apply(self, fd: int, old: int, new: int) -> None:
        self._be.apply(fd, old, new)

    def has_pending(self) -> bool:
        return bool(self._be.has_pending())

    def close(self) -> None:
        self._be.close()

    def poll(self, timeout: Optional[float]) -> Any:
        events = self._be.poll(timeout)
        if events and self._poller.detach_read(self._sock):
            self._sock.recv(4096)
            self._poller.watch_hangup(self._sock, self._on_hangup)
            self.raced += 1
        return events


def test_a_data_event_a_direct_reader_took_meanwhile_is_no_hangup() -> None:
    """The engine's epoll_wait returns a connection readable; before the
    engine handles it, a direct reader takes the data and keeps the
    connection with a hang-up watch.  The stale event must not run the
    watch (that would take the kept connection back as hung up); a real
    hang-up afterwards still does."""
    poller = SelectorPoller()
    a, b = socket.socketpair()
    a.setblocking(False)
    hangups: list[int] = []
    racing = _ReaderWinsTheRace(poller._be, poller, a, lambda: hangups.append(1))
    poller._be = racing
    try:
        poller.recv_into(a, memoryview(bytearray(64)), lambda n, err: None)
        b.send(b"data")
        poller.wait(5.0)
        assert racing.raced == 1, "the backend saw no data event"
        assert hangups == [], "a stale data event ran the hang-up watch"
        poller._be = racing._be         # no more races: the watch stays registered
        b.close()
        deadline = time.monotonic() + 20
        while not hangups and time.monotonic() < deadline:
            poller.wait(1.0)
        assert hangups == [1]
    finally:
        poller.cancel(a)
        a.close()
        poller.close()
