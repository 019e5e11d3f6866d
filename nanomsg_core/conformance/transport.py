"""Conformance checks of a transport, through real sockets.

Every check opens its own sockets on fresh URLs from the caller's factory,
bounds each blocking call with ``SNDTIMEO``/``RCVTIMEO`` (so a broken
transport fails with a message instead of hanging) and closes what it
opened.  Only public socket API is used: what passes here works for any
application.  The protocols used are the built-in ones (``nanomsg-pair``,
``nanomsg-reqrep``, ``nanomsg-pipeline``); they must be installed.
"""

from __future__ import annotations

import errno
import threading
import time
from typing import Any, Callable, Iterable, Optional

from .._constants import (AF_SP, DONTWAIT, LINGER, PAIR, PULL, PUSH, RCVBUF, RCVMAXSIZE,
                          RCVTIMEO, RECONNECT_IVL, REP, REQ, SNDBUF, SNDTIMEO, SOL_SOCKET,
                          STAT_BROKEN_CONNECTIONS)
from ..sockets._socket import Socket
from ..errors import NanomsgError

__all__ = ["TRANSPORT_CHECKS", "TransportKit", "check_transport"]

Prepare = Callable[[Socket, str], None]
"""``prepare(sock, "bind" | "connect")``: called before each bind or connect
(set ``TLS_CONFIG`` and the like)."""


class TransportKit:
    """What one check gets: fresh URLs, sockets closed afterwards, bounded waits."""

    def __init__(self, new_url: Callable[[], str], prepare: Optional[Prepare],
                 timeout: float) -> None:
        self.new_url = new_url
        self.prepare = prepare
        self.timeout = timeout
        self.sockets: list[Socket] = []

    def socket(self, protocol: int) -> Socket:
        s = Socket(AF_SP, protocol)
        self.sockets.append(s)
        ms = int(self.timeout * 1000)
        s.setsockopt(SOL_SOCKET, SNDTIMEO, ms)
        s.setsockopt(SOL_SOCKET, RCVTIMEO, ms)
        s.setsockopt(SOL_SOCKET, RECONNECT_IVL, 20)
        return s

    def bind(self, s: Socket, url: str) -> int:
        if self.prepare is not None:
            self.prepare(s, "bind")
        return s.bind(url)

    def connect(self, s: Socket, url: str) -> int:
        if self.prepare is not None:
            self.prepare(s, "connect")
        return s.connect(url)

    def pair(self, url: Optional[str] = None,
             protocols: tuple[int, int] = (PAIR, PAIR)) -> tuple[Socket, Socket, str]:
        """A bound and a connected socket (PAIR, or *protocols*: the bound
        one's, the connected one's), connected (waits for both pipes)."""
        url = url or self.new_url()
        a, b = self.socket(protocols[0]), self.socket(protocols[1])
        self.bind(a, url)
        self.connect(b, url)
        self.wait_pipes(a, 1)
        self.wait_pipes(b, 1)
        return a, b, url

    def wait(self, pred: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not pred():
            if time.monotonic() > deadline:
                raise AssertionError("timed out after %.1fs waiting for %s"
                                     % (self.timeout, what))
            time.sleep(0.002)

    def wait_pipes(self, s: Socket, n: int) -> None:
        self.wait(lambda: len(s.pipes) >= n, "%d connection(s) on a socket" % n)

    def exchange(self, a: Socket, b: Socket, what: str) -> None:
        """One message each way between two connected PAIR sockets."""
        a.send(b"a->b " + what.encode())
        got = b.recv()
        assert got == b"a->b " + what.encode(), "%s: received %r" % (what, got)
        b.send(b"b->a " + what.encode())
        got = a.recv()
        assert got == b"b->a " + what.encode(), "%s: received %r" % (what, got)

    def close(self) -> None:
        for s in self.sockets:
            s.close()
        self.sockets.clear()


def _in_thread(fn: Callable[[], Any], name: str) -> Callable[[float], None]:
    """Run *fn* in a thread; the returned ``join(timeout)`` re-raises its error."""
    box: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as e:
            box.append(e)
    t = threading.Thread(target=run, name="conformance-" + name, daemon=True)
    t.start()

    def join(timeout: float) -> None:
        t.join(timeout)
        assert not t.is_alive(), "%s did not finish within %.1fs" % (name, timeout)
        if box:
            raise box[0]
    return join


# -- the checks -------------------------------------------------------------------

def check_bind_then_connect(k: TransportKit) -> None:
    """PAIR: bind, then connect; a message each way."""
    a, b, _ = k.pair()
    k.exchange(a, b, "bind then connect")


def check_connect_then_bind(k: TransportKit) -> None:
    """PAIR: connect first (the dialer retries), then bind; a message each way."""
    url = k.new_url()
    a, b = k.socket(PAIR), k.socket(PAIR)
    k.connect(b, url)
    k.bind(a, url)
    k.wait_pipes(b, 1)
    k.exchange(a, b, "connect before bind")


def check_connector_speaks_first(k: TransportKit) -> None:
    """PAIR: the connecting side sends first, then the binding side."""
    a, b, _ = k.pair()
    k.exchange(b, a, "connector first")


def check_ordered_messages(k: TransportKit, count: int = 1000) -> None:
    """1000 messages arrive complete and in order."""
    a, b, _ = k.pair()
    join = _in_thread(lambda: [b.send(b"%06d" % i) for i in range(count)], "sender")
    for i in range(count):
        got = a.recv()
        assert got == b"%06d" % i, "message %d arrived as %r (lost or reordered)" % (i, got)
    join(k.timeout)


def check_empty_and_large(k: TransportKit) -> None:
    """An empty message, a 1 MiB one (the default ``RCVMAXSIZE``), and with
    ``RCVMAXSIZE`` -1, a 2 MiB one."""
    a, b, _ = k.pair()
    b.send(b"")
    assert a.recv() == b"", "an empty message did not arrive empty"
    big = bytes(range(256)) * 4096
    join = _in_thread(lambda: b.send(big), "1 MiB sender")
    got = a.recv()
    join(k.timeout)
    assert got == big, "a 1 MiB message arrived as %d different bytes" % len(got)
    url = k.new_url()
    c, d = k.socket(PAIR), k.socket(PAIR)
    c.setsockopt(SOL_SOCKET, RCVMAXSIZE, -1)
    k.bind(c, url)
    k.connect(d, url)
    huge = big * 2
    join = _in_thread(lambda: d.send(huge), "2 MiB sender")
    got = c.recv()
    join(k.timeout)
    assert got == huge, "a 2 MiB message (RCVMAXSIZE -1) arrived as %d bytes" % len(got)


def check_rcvmaxsize(k: TransportKit) -> None:
    """A message above the receiver's ``RCVMAXSIZE`` is not delivered (the
    connection is dropped); smaller ones before it are."""
    url = k.new_url()
    a, b = k.socket(PAIR), k.socket(PAIR)
    a.setsockopt(SOL_SOCKET, RCVMAXSIZE, 1024)
    k.bind(a, url)
    k.connect(b, url)
    b.send(b"small")
    assert a.recv() == b"small"
    a.setsockopt(SOL_SOCKET, RCVTIMEO, 300)
    b.send(b"x" * 4096)
    try:
        got = a.recv()
    except NanomsgError as e:
        assert e.errno == errno.ETIMEDOUT, "recv after an oversized message: %s" % e
    else:
        raise AssertionError("a %d-byte message passed RCVMAXSIZE 1024" % len(got))


def check_req_rep(k: TransportKit, rounds: int = 50) -> None:
    """REQ/REP round trips; each reply answers its request."""
    url = k.new_url()
    rep, req = k.socket(REP), k.socket(REQ)
    k.bind(rep, url)
    k.connect(req, url)

    def serve() -> None:
        for _ in range(rounds):
            rep.send(b"re: " + rep.recv())
    join = _in_thread(serve, "REP server")
    for i in range(rounds):
        req.send(b"q%d" % i)
        got = req.recv()
        assert got == b"re: q%d" % i, "request %d got the reply %r" % (i, got)
    join(k.timeout)


def check_many_connections(k: TransportKit, count: int = 20) -> None:
    """Many PUSH sockets connect to one PULL listener; every message arrives."""
    url = k.new_url()
    pull = k.socket(PULL)
    k.bind(pull, url)
    pushes = [k.socket(PUSH) for _ in range(count)]
    for p in pushes:
        k.connect(p, url)
    k.wait_pipes(pull, count)
    for i, p in enumerate(pushes):
        p.send(b"from %d" % i)
    got = {pull.recv() for _ in range(count)}
    assert got == {b"from %d" % i for i in range(count)}, \
        "from %d connections, received %d distinct messages" % (count, len(got))
    assert len(pull.pipes) == count, "the listener has %d pipes, not %d" % (len(pull.pipes),
                                                                          count)


def check_peer_close(k: TransportKit) -> None:
    """When the bound peer closes, the connector counts a broken connection
    (``STAT_BROKEN_CONNECTIONS``) and reconnects to a new binder of the URL."""
    a, b, url = k.pair()
    k.exchange(a, b, "before the peer closes")
    a.close()
    k.wait(lambda: b.get_statistic(STAT_BROKEN_CONNECTIONS) >= 1,
           "STAT_BROKEN_CONNECTIONS on the connector after its peer closed")
    k.wait(lambda: not b.pipes, "the connector to drop the dead pipe")
    c = k.socket(PAIR)
    k.bind(c, url)
    k.wait_pipes(b, 1)
    k.exchange(c, b, "after reconnecting")


def check_endpoint_shutdown(k: TransportKit) -> None:
    """``shutdown(eid)`` of a bind endpoint releases its address (another
    socket binds it; the connector reconnects there); shutdown of a connect
    endpoint drops its connection."""
    url = k.new_url()
    a, b = k.socket(PAIR), k.socket(PAIR)
    eid = k.bind(a, url)
    k.connect(b, url)
    k.wait_pipes(b, 1)
    k.exchange(a, b, "before shutdown")
    a.shutdown(eid)
    c = k.socket(PAIR)
    k.bind(c, url)
    k.wait_pipes(c, 1)
    k.exchange(c, b, "after the bind endpoint's shutdown")
    ceid = next(iter(b.endpoints))
    b.shutdown(ceid)
    k.wait(lambda: not c.pipes and not b.pipes, "the connection to drop after shutdown "
           "of the connect endpoint")


def check_address_in_use(k: TransportKit) -> None:
    """A second bind of a bound address fails with ``EADDRINUSE``."""
    url = k.new_url()
    a, b = k.socket(PAIR), k.socket(PAIR)
    k.bind(a, url)
    try:
        k.bind(b, url)
    except NanomsgError as e:
        assert e.errno == errno.EADDRINUSE, "second bind of %s: errno %s, not EADDRINUSE (%s)" % (
            url, e.errno, e)
    else:
        raise AssertionError("a second bind of %s succeeded" % url)


def check_back_pressure(k: TransportKit, count: int = 2000, size: int = 1000) -> None:
    """A slow receiver with small ``RCVBUF``/``SNDBUF`` loses nothing and
    reorders nothing: the sender blocks instead."""
    url = k.new_url()
    a, b = k.socket(PULL), k.socket(PUSH)
    a.setsockopt(SOL_SOCKET, RCVBUF, 4096)
    b.setsockopt(SOL_SOCKET, SNDBUF, 4096)
    k.bind(a, url)
    k.connect(b, url)
    k.wait_pipes(b, 1)
    pad = b"." * (size - 6)
    join = _in_thread(lambda: [b.send(b"%06d" % i + pad) for i in range(count)], "sender")
    time.sleep(0.2)         # be slow on purpose: let the sender fill every buffer
    for i in range(count):
        got = a.recv()
        assert got[:6] == b"%06d" % i and len(got) == size, (
            "under back-pressure message %d arrived as %r... (%d bytes)" % (i, got[:6], len(got)))
        if i % 500 == 0:
            time.sleep(0.02)
    join(k.timeout)


def check_close_in_flight(k: TransportKit) -> None:
    """Closing both sockets with messages still in flight returns promptly."""
    a, b, _ = k.pair()
    payload = b"z" * 4096
    for _ in range(200):
        try:
            b.send(payload, 1)          # DONTWAIT
        except NanomsgError as e:
            if e.errno != errno.EAGAIN:
                raise
            break
    def close_both() -> None:
        b.close()
        a.close()
    join = _in_thread(close_both, "close with messages in flight")
    join(k.timeout)


def check_pipe_addresses(k: TransportKit) -> None:
    """A received message's pipe names its transport and both addresses."""
    a, b, url = k.pair()
    b.send(b"where from")
    msg = a.recv_msg()
    pipe = msg.pipe
    assert pipe is not None, "a received Message has no .pipe"
    scheme = url.partition("://")[0]
    assert pipe.transport == scheme, "pipe.transport is %r, not %r" % (pipe.transport, scheme)
    for attr in ("local_address", "remote_address"):
        value = getattr(pipe, attr)
        assert isinstance(value, str) and value, "pipe.%s is %r" % (attr, value)


def _numbered(i: int, size: int) -> bytes:
    return b"%08d" % i + b"." * (size - 8)


def _push_pull(k: TransportKit) -> tuple[Socket, Socket, str]:
    """A bound PULL and a PUSH connected to it (waits for both pipes)."""
    return k.pair(protocols=(PULL, PUSH))


def _receive(s: Socket, count: int, what: str) -> list[bytes]:
    """*count* messages, or an assertion saying how many came (``RCVTIMEO``)."""
    got: list[bytes] = []
    try:
        for _ in range(count):
            got.append(s.recv())
    except NanomsgError as e:
        raise AssertionError("%s: %d of %d messages arrived, then %s"
                             % (what, len(got), count, e)) from e
    return got


def _in_order(got: list[bytes], size: int, what: str) -> None:
    for i, m in enumerate(got):
        assert m[:8] == b"%08d" % i and len(m) == size, (
            "%s: message %d arrived as %r... (%d bytes): lost, reordered or cut"
            % (what, i, m[:8], len(m)))


def check_linger(k: TransportKit, small: int = 100, burst: int = 3000,
                 size: int = 1024) -> None:
    """``LINGER``: a PUSH that closes right after sending loses nothing.

    First *small* messages that fit the buffers, closed before the receiver
    reads any (so most are still queued in the sender's pipe at close); then
    a burst of *burst* while the receiver reads.  Each time every message
    arrives, complete and in order."""
    ms = int(k.timeout * 1000)
    pull, push, _ = _push_pull(k)
    push.setsockopt(SOL_SOCKET, LINGER, ms)
    for i in range(small):
        push.send(_numbered(i, size))
    push.close()                    # at once, nothing read yet
    what = "%d messages, the sender closed before the peer read (LINGER %d ms)" % (small, ms)
    _in_order(_receive(pull, small, what), size, what)
    pull, push, _ = _push_pull(k)
    push.setsockopt(SOL_SOCKET, LINGER, ms)
    got: list[bytes] = []
    join = _in_thread(lambda: got.extend(pull.recv() for _ in range(burst)), "receiver")
    for i in range(burst):
        push.send(_numbered(i, size))
    push.close()                    # at once, right after the last send
    try:
        join(2 * k.timeout)
    except NanomsgError as e:
        raise AssertionError("a burst of %d, closed at once with LINGER %d ms: %d arrived, then %s"
                             % (burst, ms, len(got), e)) from e
    _in_order(got, size, "a burst closed at once")


def check_stalled_receiver(k: TransportKit, size: int = 4096, limit: int = 64 << 20) -> None:
    """Back-pressure from a receiver that stops reading: ``send`` times out
    (``ETIMEDOUT``) once a bounded backlog (< *limit* bytes) is queued, and
    works again once the receiver reads; it gets every message that was
    sent, in order, and none that timed out."""
    pull, push, _ = _push_pull(k)
    push.setsockopt(SOL_SOCKET, SNDTIMEO, 200)
    sent = 0
    while True:
        try:
            push.send(_numbered(sent, size))
        except NanomsgError as e:
            assert e.errno == errno.ETIMEDOUT, "send to a stalled receiver: %s" % e
            break
        sent += 1
        assert sent * size < limit, ("a receiver that reads nothing took %d MiB and send "
                                     "still does not block" % (sent * size >> 20))
    assert sent, "the very first send to an idle receiver timed out"
    push.setsockopt(SOL_SOCKET, SNDTIMEO, int(k.timeout * 1000))
    what = "the receiver read again after %d messages" % sent
    _in_order(_receive(pull, sent, what), size, what)
    push.send(b"after")
    got = pull.recv()
    assert got == b"after", "after the backlog drained, the next message was %r" % got[:8]


def check_peer_gone_midstream(k: TransportKit, size: int = 1024) -> None:
    """A peer that goes away in the middle of a stream of messages.

    The receiver closes while a PUSH is streaming: the PUSH counts a broken
    connection, reconnects to a new receiver of the URL and goes on, in order
    (what was queued for the dead one may be lost).  The sender closes in
    the middle of a burst (``LINGER`` 0): the receiver gets a prefix of
    whole messages in order, drops the connection and takes a new one."""
    pull, push, url = _push_pull(k)
    stop, done = threading.Event(), threading.Event()

    def stream() -> None:
        try:
            i = 0
            while not stop.is_set():
                push.send(_numbered(i, size))
                i += 1
        finally:
            done.set()
    join = _in_thread(stream, "streaming sender")
    _in_order(_receive(pull, 50, "streaming"), size, "before the receiver went away")
    pull.close()                    # mid-stream
    k.wait(lambda: push.get_statistic(STAT_BROKEN_CONNECTIONS) >= 1,
           "STAT_BROKEN_CONNECTIONS on the sender after its receiver closed mid-stream")
    pull = k.socket(PULL)
    k.bind(pull, url)
    last = -1
    for _ in range(50):
        n = int(pull.recv()[:8])
        assert n > last, "after reconnecting, message %d came after %d" % (n, last)
        last = n
    stop.set()
    pull.setsockopt(SOL_SOCKET, RCVTIMEO, 50)
    k.wait(lambda: _drain(pull) or done.is_set(), "the sender to stop")
    join(k.timeout)
    pull, push, url = _push_pull(k)
    push.setsockopt(SOL_SOCKET, LINGER, 0)
    sent = 0
    for sent in range(2000):
        try:
            push.send(_numbered(sent, size), DONTWAIT)
        except NanomsgError as e:
            assert e.errno == errno.EAGAIN, "send with DONTWAIT: %s" % e
            break
    push.close()                    # mid-burst, dropping what is queued
    pull.setsockopt(SOL_SOCKET, RCVTIMEO, 100)
    got: list[bytes] = []

    def gone() -> bool:             # the pipe had gone before a recv found nothing
        dropped = not pull.pipes
        try:
            got.append(pull.recv())
        except NanomsgError as e:
            if e.errno != errno.ETIMEDOUT:
                raise
            return dropped
        return False
    k.wait(gone, "the receiver to drop the pipe of a sender gone mid-burst")
    _in_order(got, size, "a sender closed mid-burst with LINGER 0")
    push = k.socket(PUSH)
    k.connect(push, url)
    push.send(b"next")
    assert pull.recv() == b"next", "the receiver did not take a new connection"


def _drain(s: Socket) -> bool:
    """Receive one message if one comes (``RCVTIMEO``); ``False`` for ``k.wait``."""
    try:
        s.recv()
    except NanomsgError as e:
        if e.errno != errno.ETIMEDOUT:
            raise
    return False


TRANSPORT_CHECKS: dict[str, Callable[[TransportKit], None]] = {
    "bind_then_connect": check_bind_then_connect,
    "connect_then_bind": check_connect_then_bind,
    "connector_speaks_first": check_connector_speaks_first,
    "pipe_addresses": check_pipe_addresses,
    "ordered_messages": check_ordered_messages,
    "empty_and_large": check_empty_and_large,
    "rcvmaxsize": check_rcvmaxsize,
    "req_rep": check_req_rep,
    "many_connections": check_many_connections,
    "peer_close": check_peer_close,
    "endpoint_shutdown": check_endpoint_shutdown,
    "address_in_use": check_address_in_use,
    "back_pressure": check_back_pressure,
    "close_in_flight": check_close_in_flight,
    "linger": check_linger,
    "stalled_receiver": check_stalled_receiver,
    "peer_gone_midstream": check_peer_gone_midstream,
}
"""Every transport check by name (the names ``skip=`` and ``only=`` take)."""


def check_transport(new_url: Callable[[], str], *, prepare: Optional[Prepare] = None,
                    skip: Iterable[str] = (), only: Optional[Iterable[str]] = None,
                    timeout: float = 10.0) -> None:
    """Run the transport checks over URLs from *new_url*.

    *new_url* returns a fresh, bindable URL on each call (``tcp://127.0.0.1:PORT``
    with a free port, an ``ipc://`` path in a temp dir, a unique inproc name).
    ``prepare(sock, "bind" | "connect")`` runs before every bind and connect
    (e.g. to set ``TLS_CONFIG``).  ``skip`` names checks (keys of
    :data:`TRANSPORT_CHECKS`) the transport lacks the feature for, e.g.
    ``"rcvmaxsize"`` for inproc; ``only`` runs just the named ones.  Every
    blocking step gives up after *timeout* seconds.  Raises
    :class:`AssertionError` naming the check and the broken rule.
    """
    skipped = set(skip)
    names = list(TRANSPORT_CHECKS) if only is None else list(only)
    unknown = (skipped | set(names)) - set(TRANSPORT_CHECKS)
    if unknown:
        raise ValueError("unknown transport checks: %s" % ", ".join(sorted(unknown)))
    for name in names:
        if name in skipped:
            continue
        kit = TransportKit(new_url, prepare, timeout)
        try:
            TRANSPORT_CHECKS[name](kit)
        except AssertionError as e:
            raise AssertionError("check_transport[%s]: %s" % (name, e)) from e
        except NanomsgError as e:
            raise AssertionError("check_transport[%s]: a socket call failed: %s" % (name, e)) \
                from e
        finally:
            kit.close()
