"""Many idle connections: receiving costs the same with thousands of idle
peers as with one.

The fair queue lists a pipe when its first message arrives and drops it when
it drains, so a receive looks only at pipes that have something.  These
tests check that property by counting the pipes a receive touches (calls to
``take``/``has`` of the pipes' receive queues, their ``Inbox``), never by
timing; the scale tests check that
nothing is lost or reordered with hundreds of idle peers.

Run by hand, the module measures what ``docs/reliability.md`` reports::

    python -m tests.reliability.test_idle_scale pull 0 100 1000 3000
    python -m tests.reliability.test_idle_scale rep 0 1000 2000 4000
"""

from __future__ import annotations

import contextlib
import random
import statistics
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, Callable, Optional

import pytest

import nanomsg_core as nn
from nanomsg_core.endpoints import _pipe
from nanomsg_core.endpoints._inbox import Inbox
from nanomsg_core.endpoints._pipe import Pipe
from nanomsg_core.protokit import FairQueue
from nanomsg_core.sockets._hotflags import HotFlags
from tests.support import free_port, sock, wait_pipes

pytestmark = pytest.mark.timeout(120)

IDLE = 300


class Touches:
    """Counts calls of ``take`` and ``has`` of the receive queues of the pipes
    made while it is installed (any pipe, any thread): every pipe the engine
    makes then has a :class:`CountingInbox`, and compiled callers honour its
    overrides, so the count is the same in both builds."""

    def __init__(self) -> None:
        self.n = 0


class CountingInbox(Inbox):
    counter: Touches            # set by the fixture's subclass

    def take(self) -> Optional[bytes]:
        self.counter.n += 1
        return Inbox.take(self)

    def has(self) -> bool:
        self.counter.n += 1
        return Inbox.has(self)


@pytest.fixture
def touches(monkeypatch: pytest.MonkeyPatch) -> Touches:
    t = Touches()
    counting = type("CountingInbox", (CountingInbox,), {"counter": t})
    monkeypatch.setattr(_pipe, "Inbox", counting)
    return t


# -- the fair queue with engine pipes and no network ---------------------------------

def engine_pipe(rcvprio: int = 8, rcvbuf: int = 1 << 20,
                resume: Callable[[], None] = lambda: None, inbox: Optional[type[Inbox]] = None,
                sent: Optional[list[nn.Message]] = None) -> Pipe:
    """A real :class:`Pipe` over stand-ins for its socket, endpoint and transport
    (what it sends goes to *sent*), with an *inbox* of that class if given."""
    out: list[nn.Message] = [] if sent is None else sent
    def send(msg: nn.Message) -> bool:
        out.append(msg)
        return True

    core = SimpleNamespace(wake_recv=lambda: None, rwaiters=deque(), fds=None, flags=HotFlags())
    ep = SimpleNamespace(id=1, sndprio=8, rcvprio=rcvprio, rcvbuf=rcvbuf)
    tp = SimpleNamespace(transport="fake", local_address="a", remote_address="b",
                         peer_protocol=0, send=send,
                         can_send=lambda: True, resume_recv=resume)
    if inbox is None:
        return Pipe(core, ep, tp)  # type: ignore[arg-type]
    usual = _pipe.Inbox
    _pipe.Inbox = inbox                 # type: ignore[misc]
    try:
        return Pipe(core, ep, tp)  # type: ignore[arg-type]
    finally:
        _pipe.Inbox = usual             # type: ignore[misc]


class RacingInbox(Inbox):
    """A pipe's receive queue whose transport delivers at the worst moment:
    right after the queue's *n*-th look finds it empty, before the queue
    acts on that."""

    def arm(self, body: bytes, at_empty_look: int, seen: bool = False) -> None:
        """*seen*: the look already sees the message (it landed just before)."""
        self.pending: Optional[bytes] = body
        self.looks = at_empty_look
        self.seen = seen

    def has(self) -> bool:
        has = Inbox.has(self)
        if not has and getattr(self, "pending", None) is not None:
            self.looks -= 1
            if self.looks == 0:
                body, self.pending = self.pending, None
                self.pipe.deliver(nn.Message(body or b""))
                if self.seen:
                    return Inbox.has(self)
        return has


def racing_pipe() -> tuple[Pipe, RacingInbox]:
    p = engine_pipe(inbox=RacingInbox)
    box = p._inbox
    assert isinstance(box, RacingInbox)
    return p, box


def drain(fq: FairQueue) -> list[bytes]:
    out: list[bytes] = []
    while True:
        msg = fq.recv()
        if msg is None:
            return out
        out.append(msg.body)


def test_a_receive_touches_only_pipes_with_messages(touches: Touches) -> None:
    fq = FairQueue()
    pipes = [engine_pipe() for _ in range(2000)]
    for p in pipes:
        fq.add(p)
    busy = pipes[1234]
    for i in range(100):
        busy.deliver(nn.Message(b"%d" % i))
    touches.n = 0
    assert fq.can_recv()
    got = drain(fq)
    assert got == [b"%d" % i for i in range(100)]
    assert not fq.can_recv()
    # one take + one or two has per message, and a few at the end; a
    # walk over the idle pipes would be 2000 per receive
    assert 2 * 100 <= touches.n <= 3 * 100 + 5, touches.n


def test_round_robin_among_ready_pipes_only() -> None:
    fq = FairQueue()
    pipes = [engine_pipe() for _ in range(50)]
    for p in pipes:
        fq.add(p)
    a, b, c = pipes[40], pipes[3], pipes[27]
    for p, name in ((a, b"a"), (b, b"b"), (c, b"c")):
        for i in range(3 if p is not c else 1):
            p.deliver(nn.Message(name + b"%d" % i))
    # one message from each ready pipe per round, idle ones never in the way
    got = drain(fq)
    assert [sorted(got[:3]), sorted(got[3:5]), sorted(got[5:])] == [
        [b"a0", b"b0", b"c0"], [b"a1", b"b1"], [b"a2", b"b2"]]


def test_priorities_first_then_round_robin() -> None:
    fq = FairQueue()
    low = [engine_pipe(rcvprio=9) for _ in range(3)]
    high = [engine_pipe(rcvprio=2) for _ in range(3)]
    for p in low + high:
        fq.add(p)
    for i, p in enumerate(low + high):
        p.deliver(nn.Message(b"%d-1" % i))
        p.deliver(nn.Message(b"%d-2" % i))
    assert drain(fq) == [b"3-1", b"4-1", b"5-1", b"3-2", b"4-2", b"5-2",
                         b"0-1", b"1-1", b"2-1", b"0-2", b"1-2", b"2-2"]


def test_messages_before_add_and_after_remove_are_read() -> None:
    fq = FairQueue()
    early, leaving, other = engine_pipe(), engine_pipe(), engine_pipe()
    early.deliver(nn.Message(b"before add"))
    fq.add(early)
    fq.add(leaving)
    fq.add(other)
    leaving.deliver(nn.Message(b"last words"))
    fq.remove(leaving)
    assert leaving not in fq and len(fq) == 2
    assert sorted(drain(fq)) == [b"before add", b"last words"]
    fq.remove(early)
    fq.remove(early)                     # idempotent
    assert len(fq) == 1


def test_back_pressure_resumes_once_drained() -> None:
    resumed = []
    p = engine_pipe(rcvbuf=40, resume=lambda: resumed.append(1))
    fq = FairQueue()
    fq.add(p)
    more = [p.deliver(nn.Message(b"x" * 10)) for _ in range(5)]
    assert more == [True, True, True, False, False]       # full: the transport stops
    assert drain(fq) == [b"x" * 10] * 5 and resumed == [1]


def test_a_delivery_racing_the_drop_is_not_missed() -> None:
    """The message arrives after the queue cleared ``listed``, while it
    looks, and the look misses it: the delivery must list the pipe itself
    (a queue that looked before clearing, and not after, strands it)."""
    fq = FairQueue()
    p, box = racing_pipe()
    fq.add(p)
    p.deliver(nn.Message(b"first"))
    box.arm(b"second", at_empty_look=1)
    msg = fq.recv()
    assert msg is not None and msg.body == b"first" and msg.pipe is p
    assert box.listed and fq.can_recv()
    msg = fq.recv()
    assert msg is not None and msg.body == b"second"
    assert fq.recv() is None and not fq.can_recv() and not box.listed


def test_a_pipe_listed_twice_is_served_once_per_message() -> None:
    """The delivery lands between the clear and the look, and the look sees
    it: both list the pipe.  The extra entry is dropped without a message
    or a false ``can_recv``."""
    fq = FairQueue()
    p, box = racing_pipe()
    fq.add(p)
    p.deliver(nn.Message(b"first"))
    box.arm(b"second", at_empty_look=1, seen=True)
    msg = fq.recv()
    assert msg is not None and msg.body == b"first"
    assert list(fq._bands[0][0]) == [box, box]
    assert [drain(fq), fq.can_recv()] == [[b"second"], False]
    assert not fq._bands[0][0]
    p.deliver(nn.Message(b"third"))
    assert fq.can_recv() and drain(fq) == [b"third"]


def test_a_delivery_racing_add_is_not_missed() -> None:
    fq = FairQueue()
    p, box = racing_pipe()
    box.arm(b"during add", at_empty_look=1)
    fq.add(p)
    assert fq.can_recv() and drain(fq) == [b"during add"]


def test_deliveries_racing_receives_are_never_missed() -> None:
    """Deliverer threads (one per pipe, as transports are) race one receiver
    with the interpreter switching threads as often as it can: every message
    arrives exactly once, in order per pipe, and none is left unlisted."""
    fq = FairQueue()
    pipes = [engine_pipe() for _ in range(8)]
    for p in pipes:
        fq.add(p)
    per_pipe = 2000
    done = threading.Event()
    finished = []

    def deliver(k: int, p: Pipe) -> None:
        rnd = random.Random(k)
        for i in range(per_pipe):
            p.deliver(nn.Message(b"%d:%d" % (k, i)))
            if rnd.random() < 0.3:
                time.sleep(0)
        finished.append(k)
        if len(finished) == len(pipes):
            done.set()

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=deliver, args=(k, p)) for k, p in enumerate(pipes)]
        for t in threads:
            t.start()
        nxt = [0] * len(pipes)
        got = 0
        deadline = time.monotonic() + 60
        while got < per_pipe * len(pipes):
            assert time.monotonic() < deadline, "stuck at %d messages" % got
            all_sent = done.is_set()
            can = fq.can_recv()
            msg = fq.recv()
            if msg is None:
                assert not can, "can_recv said yes, recv found nothing"
                # every deliverer done and nothing listed: a message was lost
                assert not (all_sent and any(p.can_recv() for p in pipes)), \
                    "a pipe holds messages but is not listed"
                continue
            k, i = map(int, msg.body.split(b":"))
            assert i == nxt[k], "pipe %d: got %d, expected %d" % (k, i, nxt[k])
            nxt[k] += 1
            got += 1
        for t in threads:
            t.join(10)
    finally:
        sys.setswitchinterval(old)
    assert fq.recv() is None and not fq.can_recv()


# -- every receiving protocol, cooked and raw, with 1000 idle pipes ------------------

def _request(proto: Any, sent: list[nn.Message]) -> bytes:
    """Have *proto* send a request/survey; the id word it carries."""
    proto.send(nn.Message(b"q"))
    wire = sent[-1].header + sent[-1].body
    return wire[:4]


def _round_plain(proto: Any, live: Pipe, sent: list[nn.Message], i: int) -> bytes:
    live.deliver(nn.Message(b"m%d" % i))
    return bytes(proto.recv().body)


def _round_backtrace(proto: Any, live: Pipe, sent: list[nn.Message], i: int) -> bytes:
    live.deliver(nn.Message(ID_WORD + b"m%d" % i))
    return bytes(proto.recv().body)


def _round_asked(proto: Any, live: Pipe, sent: list[nn.Message], i: int) -> bytes:
    live.deliver(nn.Message(_request(proto, sent) + b"m%d" % i))
    return bytes(proto.recv().body)


def _subscribed(host: Any) -> Any:
    from nanomsg_pubsub import Sub
    sub = Sub(host)
    sub.set_option(nn.SUB_SUBSCRIBE, b"")
    return sub


ID_WORD = b"\x80\x00\x00\x07"


def _factories() -> dict[str, tuple[Callable[[Any], Any], bool, Any]]:
    from nanomsg_bus import Bus
    from nanomsg_pipeline import Pull
    from nanomsg_reqrep import new_rep, new_req
    from nanomsg_survey import new_respondent, new_surveyor
    return {
        "PULL": (Pull, False, _round_plain),
        "SUB": (_subscribed, False, _round_plain),
        "BUS": (Bus, False, _round_plain),
        "raw BUS": (Bus, True, _round_plain),
        "REP": (new_rep, False, _round_backtrace),
        "raw REP": (new_rep, True, _round_backtrace),
        "RESPONDENT": (new_respondent, False, _round_backtrace),
        "raw RESPONDENT": (new_respondent, True, _round_backtrace),
        "REQ": (new_req, False, _round_asked),
        "raw REQ": (new_req, True, _round_backtrace),
        "SURVEYOR": (new_surveyor, False, _round_asked),
        "raw SURVEYOR": (new_surveyor, True, _round_backtrace),
    }


@pytest.mark.parametrize("name", list(_factories()))
def test_every_protocol_receives_without_walking_idle_pipes(
        name: str, touches: Touches) -> None:
    from nanomsg_core.testing import ManualHost
    make, raw, one_round = _factories()[name]
    host = ManualHost(raw=raw)
    proto = make(host)
    host.proto = proto
    sent: list[nn.Message] = []
    pipes = [engine_pipe(sent=sent) for _ in range(1000)]
    for p in pipes:
        assert proto.add_pipe(p) is not False
    live = pipes[777]
    touches.n = 0
    rounds = 50
    for i in range(rounds):
        assert one_round(proto, live, sent, i).endswith(b"m%d" % i)
        assert not proto.can_recv()
    # a few looks per round (recv, can_recv); walking would be 1000 per look
    assert rounds <= touches.n <= 8 * rounds, "%s: %d pipe looks" % (name, touches.n)


# -- real sockets over tcp ----------------------------------------------------------

@contextlib.contextmanager
def idle_peers(proto: int, idle_proto: int, live_proto: int, n: int,
               timeout: float = 60) -> Iterator[tuple[nn.Socket, nn.Socket]]:
    """A *proto* socket bound on tcp with *n* idle connections (one
    *idle_proto* socket that never sends) and one live *live_proto* peer."""
    if sys.platform != "win32":        # Windows: no descriptor limit to raise
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 2 * n + 256
        if soft < want:
            if hard != resource.RLIM_INFINITY and hard < want:
                pytest.skip("needs %d file descriptors, the hard limit is %d" % (want, hard))
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    url = "tcp://127.0.0.1:%d" % free_port()
    with sock(proto, timeout=30000) as rx, sock(idle_proto) as idle, \
            sock(live_proto, timeout=30000) as live:
        rx.bind(url)
        for _ in range(n):
            idle.connect(url)
        wait_pipes(rx, n, timeout)
        live.connect(url)
        wait_pipes(rx, n + 1, timeout)
        yield rx, live


def test_pull_with_idle_pushers_receives_everything(touches: Touches) -> None:
    n = 5000
    with idle_peers(nn.PULL, nn.PUSH, nn.PUSH, IDLE) as (pull, live):
        sender = threading.Thread(target=lambda: [live.send(b"%d" % i) for i in range(n)])
        touches.n = 0
        sender.start()
        got = [pull.recv() for _ in range(n)]
        sender.join(30)
        assert got == [b"%d" % i for i in range(n)]
        # a walk over the idle pipes would touch 300 per receive
        assert n <= touches.n <= 4 * n, touches.n


def test_rep_with_idle_requesters_answers_a_live_one(touches: Touches) -> None:
    n = 300
    with idle_peers(nn.REP, nn.REQ, nn.REQ, IDLE) as (rep, req):
        def serve() -> None:
            for _ in range(n):
                rep.send(rep.recv().upper())

        server = threading.Thread(target=serve)
        touches.n = 0
        server.start()
        for i in range(n):
            req.send(b"q%d" % i)
            assert req.recv() == b"Q%d" % i
        server.join(30)
        # REQ's own receives count too (it has one pipe); no walk of REP's 300
        assert 2 * n <= touches.n <= 10 * n, touches.n


def test_contexts_receive_without_walking_idle_pipes(touches: Touches) -> None:
    n = 200
    with idle_peers(nn.REP, nn.REQ, nn.REQ, IDLE) as (rep, req), rep.context() as ctx:
        ctx.recv_timeout = 30000
        touches.n = 0
        for i in range(n):
            req.send(b"c%d" % i)
            assert ctx.recv() == b"c%d" % i
            ctx.send(b"ok")
            assert req.recv() == b"ok"
        assert 2 * n <= touches.n <= 10 * n, touches.n


# -- measuring (python -m tests.reliability.test_idle_scale pull|rep N...) ----------

def measure_pull(n: int, seconds: float = 2.0) -> float:
    """PULL messages per second from one live pusher, with *n* idle ones."""
    with idle_peers(nn.PULL, nn.PUSH, nn.PUSH, n, timeout=300) as (pull, push):
        push.send_timeout = 200
        stop = threading.Event()

        def send() -> None:
            while not stop.is_set():
                try:
                    push.send(b"x" * 100)
                except nn.NanomsgError:
                    pass
        t = threading.Thread(target=send, daemon=True)
        t.start()
        pull.recv()
        k, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            pull.recv()
            k += 1
        rate = k / (time.perf_counter() - t0)
        stop.set()
        t.join(5)
        return rate


def measure_rep(n: int, rounds: int = 2000) -> float:
    """REQ/REP round-trip p50 in ms with *n* idle requesters."""
    with idle_peers(nn.REP, nn.REQ, nn.REQ, n, timeout=300) as (rep, req):
        def serve() -> None:
            for _ in range(rounds):
                rep.send(rep.recv())
        t = threading.Thread(target=serve, daemon=True)
        t.start()
        lat = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            req.send(b"ping")
            req.recv()
            lat.append(time.perf_counter() - t0)
        t.join(5)
        return statistics.median(lat) * 1000


def main(argv: Optional[list[str]] = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in ("pull", "rep"):
        raise SystemExit("usage: python -m tests.reliability.test_idle_scale pull|rep N...")
    counts = [int(a) for a in args[1:]] or [0, 1000]
    for n in counts:
        if args[0] == "pull":
            print("PULL, %5d idle pushers: %8.0f msg/s" % (n, measure_pull(n)), flush=True)
        else:
            print("REP, %5d idle requesters: p50 %.3f ms" % (n, measure_rep(n)), flush=True)


if __name__ == "__main__":
    main()
