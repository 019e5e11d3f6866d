"""PUSH/PULL over real sockets (nanomsg's tests/pipeline.c and more), per transport."""

from __future__ import annotations

import errno
import threading

import pytest

import nanomsg_core as nn

from tests.support import Urls, timeouts, wait_pipes, wait_until

pytestmark = pytest.mark.timeout(20)


def sock(proto: object, domain: int = nn.AF_SP) -> nn.Socket:
    return timeouts(nn.Socket(domain, proto))  # type: ignore[arg-type]


@pytest.mark.parametrize("domain", [nn.AF_SP, nn.AF_SP_RAW])
def test_fan_out_load_balances(urls: Urls, domain: int) -> None:
    url = urls()
    with sock(nn.PUSH, domain) as push, sock(nn.PULL, domain) as p1, \
            sock(nn.PULL, domain) as p2:
        push.bind(url)
        p1.connect(url)
        p2.connect(url)
        wait_pipes(push, 2)
        for i in range(10):
            push.send(b"%d" % i)
        a = [p1.recv() for _ in range(5)]
        b = [p2.recv() for _ in range(5)]
        assert sorted(a + b, key=int) == [b"%d" % i for i in range(10)]
        # round-robin: consecutive messages went to different pullers
        assert {a[0], b[0]} == {b"0", b"1"}
        for s in (p1, p2):
            with pytest.raises(nn.NanomsgError) as ei:
                s.recv(nn.DONTWAIT)
            assert ei.value.errno == nn.EAGAIN


@pytest.mark.parametrize("domain", [nn.AF_SP, nn.AF_SP_RAW])
def test_fan_in_fair_queues(urls: Urls, domain: int) -> None:
    url = urls()
    with sock(nn.PULL, domain) as pull, sock(nn.PUSH, domain) as s1, \
            sock(nn.PUSH, domain) as s2:
        pull.bind(url)
        s1.connect(url)
        s2.connect(url)
        s1.send(b"ABC")                 # blocks until connected: no sleep needed
        s2.send(b"DEF")
        assert sorted([pull.recv(), pull.recv()]) == [b"ABC", b"DEF"]


@pytest.mark.parametrize("names", [("fanout", "fanin"), ("source", "sink"),
                                   ("PUSH", "PULL"), (nn.FANOUT, nn.FANIN),
                                   (nn.SOURCE, nn.SINK)])
def test_old_names(inproc_url: str, names: tuple[object, object]) -> None:
    with sock(names[0]) as push, sock(names[1]) as pull:
        assert (push.protocol, pull.protocol) == (nn.PUSH, nn.PULL)
        pull.bind(inproc_url)
        push.connect(inproc_url)
        push.send(b"old")
        assert pull.recv() == b"old"


@pytest.mark.parametrize("domain", [nn.AF_SP, nn.AF_SP_RAW])
def test_wrong_direction_is_enotsup(domain: int) -> None:
    with nn.Socket(domain, nn.PUSH) as push, nn.Socket(domain, nn.PULL) as pull:
        for call in (push.recv, lambda: pull.send(b"x"), lambda: push.recv(nn.DONTWAIT)):
            with pytest.raises(nn.NanomsgError) as ei:
                call()
            assert ei.value.errno == errno.ENOTSUP


def test_push_without_peers_blocks() -> None:
    with nn.Socket(nn.AF_SP, nn.PUSH) as push:
        with pytest.raises(nn.NanomsgError) as ei:
            push.send(b"x", nn.DONTWAIT)
        assert ei.value.errno == nn.EAGAIN
        push.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 50)
        with pytest.raises(nn.NanomsgError) as ei:
            push.send(b"x")
        assert ei.value.errno == nn.ETIMEDOUT


def test_blocked_push_wakes_when_a_puller_arrives(urls: Urls) -> None:
    url = urls()
    with sock(nn.PUSH) as push, sock(nn.PULL) as pull:
        push.bind(url)
        sent = threading.Event()

        def sender() -> None:
            push.send(b"waited")
            sent.set()
        t = threading.Thread(target=sender)
        t.start()
        pull.connect(url)
        assert pull.recv() == b"waited"
        t.join(5)
        assert sent.is_set()


def test_backpressure_then_resume(urls: Urls) -> None:
    """A puller that does not read eventually blocks the pusher; reading frees it."""
    url = urls()
    with sock(nn.PUSH) as push, sock(nn.PULL) as pull:
        pull.setsockopt(nn.SOL_SOCKET, nn.RCVBUF, 64 * 1024)
        pull.bind(url)
        push.connect(url)
        wait_pipes(push, 1)
        chunk = b"z" * 65536
        sent = 0
        while sent < 4096:              # at most 256 MiB: far beyond any socket buffer
            try:
                push.send(chunk, nn.DONTWAIT)
            except nn.NanomsgError as e:
                assert e.errno == nn.EAGAIN
                break
            sent += 1
        assert 0 < sent < 4096
        for _ in range(sent):
            assert pull.recv() == chunk
        push.send(b"after")             # blocks (bounded by SNDTIMEO) until room
        assert pull.recv() == b"after"


def test_messages_from_a_departed_pusher_are_delivered(urls: Urls) -> None:
    url = urls()
    with sock(nn.PULL) as pull:
        pull.bind(url)
        with sock(nn.PUSH) as push:
            push.connect(url)
            for i in range(3):
                push.send(b"%d" % i)
            wait_pipes(pull, 1)
            wait_until(lambda: sum(p.queued() for p in pull.pipes) == 3, what="delivery")
        assert [pull.recv() for _ in range(3)] == [b"0", b"1", b"2"]
