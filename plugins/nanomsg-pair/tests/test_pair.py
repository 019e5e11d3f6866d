"""PAIR sockets (over inproc): exclusivity, ordering under load, endpoints, raw."""

from __future__ import annotations

import errno
import threading

import pytest

import nanomsg_core as nn


def pair(url: str, domain: int = nn.AF_SP) -> tuple[nn.Socket, nn.Socket]:
    a = nn.Socket(domain, nn.PAIR)
    b = nn.Socket(domain, nn.PAIR)
    for s in (a, b):
        s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
        s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 5000)
    a.bind(url)
    b.connect(url)
    return a, b


@pytest.mark.parametrize("domain", [nn.AF_SP, nn.AF_SP_RAW])
def test_both_directions(inproc_url: str, domain: int) -> None:
    a, b = pair(inproc_url, domain)
    with a, b:
        assert b.send(b"ping") == 4
        assert a.recv() == b"ping"
        a.send(bytearray(b"pong"))
        assert b.recv() == b"pong"
        a.send(memoryview(b"xyz")[1:])
        msg = b.recv_msg()
        assert msg.body == b"yz" and msg.header == b""
        assert msg.pipe is not None and msg.pipe.transport == "inproc"
        assert msg.pipe.remote_address == inproc_url
        b.send_msg(nn.Message(b"m"))
        assert a.recv() == b"m"
        a.send(b"")
        assert b.recv() == b""


def test_connect_before_bind(inproc_url: str) -> None:
    with nn.Socket(nn.AF_SP, nn.PAIR) as b, nn.Socket(nn.AF_SP, nn.PAIR) as a:
        b.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
        b.connect(inproc_url)
        b.send(b"early", nn.DONTWAIT) if False else None
        a.bind(inproc_url)
        a.send(b"hello")
        assert b.recv() == b"hello"


def test_second_bind_is_eaddrinuse(inproc_url: str) -> None:
    with nn.Socket(nn.AF_SP, nn.PAIR) as a, nn.Socket(nn.AF_SP, nn.PAIR) as b:
        a.bind(inproc_url)
        with pytest.raises(nn.NanomsgError) as ei:
            b.bind(inproc_url)
        assert ei.value.errno == errno.EADDRINUSE
        a.close()
        b.bind(inproc_url)          # released on close


def test_malformed_and_unknown_urls() -> None:
    with nn.Socket(nn.AF_SP, nn.PAIR) as s:
        for url in ("inproc://", "nonsense", "://x"):
            with pytest.raises(nn.NanomsgError) as ei:
                s.bind(url)
            assert ei.value.errno == errno.EINVAL, url
        with pytest.raises(nn.NanomsgError) as ei:
            s.connect("carrier-pigeon://x")
        assert ei.value.errno == errno.EPROTONOSUPPORT
        assert "carrier-pigeon" in str(ei.value)


@pytest.mark.parametrize("domain", [nn.AF_SP, nn.AF_SP_RAW])
def test_exclusive_first_peer_wins(inproc_url: str, domain: int) -> None:
    a, b = pair(inproc_url, domain)
    c = nn.Socket(domain, nn.PAIR)
    c.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
    with a, b, c:
        c.connect(inproc_url)
        with pytest.raises(nn.NanomsgError) as ei:   # c has no peer: nothing takes it
            c.send(b"intruder", nn.DONTWAIT)
        assert ei.value.errno == errno.EAGAIN
        b.send(b"from b")
        assert a.recv() == b"from b"
        a.send(b"to b")
        assert b.recv() == b"to b"
        assert len(a.pipes) == 1
        b.close()                     # the slot frees; c's reconnect loop takes it
        c.send(b"from c")             # blocks until c is paired
        assert a.recv() == b"from c"
        a.send(b"to c")
        assert c.recv() == b"to c"


def test_ordered_under_load_across_threads(inproc_url: str) -> None:
    a, b = pair(inproc_url)
    n = 50_000
    got: list[int] = []

    def receiver() -> None:
        for _ in range(n):
            got.append(int(a.recv()))
    with a, b:
        a.setsockopt(nn.SOL_SOCKET, nn.RCVBUF, 4096)   # force back-pressure
        th = threading.Thread(target=receiver)
        th.start()
        for i in range(n):
            b.send(b"%d" % i)
        th.join(30)
        assert not th.is_alive()
    assert got == list(range(n))


def test_many_threads_share_one_socket(inproc_url: str) -> None:
    """Four senders and four receivers on one PAIR each: nothing lost or doubled,
    each sender's order kept."""
    a, b = pair(inproc_url)
    per, threads = 5000, 4
    results: list[list[tuple[int, int]]] = [[] for _ in range(threads)]

    def send(t: int) -> None:
        for i in range(per):
            b.send(b"%d:%d" % (t, i))

    def recv(slot: int) -> None:
        for _ in range(per):
            t, i = a.recv().split(b":")
            results[slot].append((int(t), int(i)))
    with a, b:
        ths = [threading.Thread(target=recv, args=(k,)) for k in range(threads)]
        ths += [threading.Thread(target=send, args=(k,)) for k in range(threads)]
        for th in ths:
            th.start()
        for th in ths:
            th.join(60)
            assert not th.is_alive()
    everything = sorted(x for r in results for x in r)
    assert everything == sorted((t, i) for t in range(threads) for i in range(per))
    for r in results:     # per receiver, each sender's messages arrive in order
        for t in range(threads):
            seq = [i for (tt, i) in r if tt == t]
            assert seq == sorted(seq)


def test_shutdown_endpoint(inproc_url: str) -> None:
    a, b = pair(inproc_url)
    with a, b:
        b.send(b"x")
        assert a.recv() == b"x"
        eid = a.endpoints and next(iter(a.endpoints))
        assert isinstance(eid, int)
        a.shutdown(eid)
        with pytest.raises(nn.NanomsgError) as ei:
            a.shutdown(eid)
        assert ei.value.errno == errno.EINVAL
        with nn.Socket(nn.AF_SP, nn.PAIR) as c:   # the name is free again
            c.bind(inproc_url)


def test_messages_sent_before_peer_closes_are_delivered(inproc_url: str) -> None:
    a, b = pair(inproc_url)
    with a:
        for i in range(100):
            b.send(b"%d" % i)
        b.close()
        assert [a.recv() for _ in range(100)] == [b"%d" % i for i in range(100)]
