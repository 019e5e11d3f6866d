"""SNDPRIO / RCVPRIO per endpoint (nanomsg's tests/prio.c), per transport."""

from __future__ import annotations

import pytest

import nanomsg_core as nn

from tests.support import Urls, timeouts, wait_pipes, wait_until

pytestmark = pytest.mark.timeout(20)


def sock(proto: int) -> nn.Socket:
    return timeouts(nn.Socket(nn.AF_SP, proto))


def test_send_priorities(urls: Urls) -> None:
    a, b = urls(), urls()
    with sock(nn.PULL) as pull1, sock(nn.PULL) as pull2, sock(nn.PUSH) as push:
        pull1.bind(a)
        pull2.bind(b)
        push.setsockopt(nn.SOL_SOCKET, nn.SNDPRIO, 1)
        push.connect(a)
        push.setsockopt(nn.SOL_SOCKET, nn.SNDPRIO, 2)
        push.connect(b)
        wait_pipes(push, 2)
        for body in (b"ABC", b"DEF", b"GHI"):
            push.send(body)
        assert [pull1.recv() for _ in range(3)] == [b"ABC", b"DEF", b"GHI"]
        with pytest.raises(nn.NanomsgError):
            pull2.recv(nn.DONTWAIT)


def test_send_priority_beats_connection_order(urls: Urls) -> None:
    a, b = urls(), urls()
    with sock(nn.PULL) as worse, sock(nn.PULL) as better, sock(nn.PUSH) as push:
        worse.bind(a)
        better.bind(b)
        push.setsockopt(nn.SOL_SOCKET, nn.SNDPRIO, 16)
        push.connect(a)
        wait_pipes(push, 1)
        push.setsockopt(nn.SOL_SOCKET, nn.SNDPRIO, 3)
        push.connect(b)
        wait_pipes(push, 2)
        for body in (b"1", b"2"):
            push.send(body)
        assert [better.recv(), better.recv()] == [b"1", b"2"]
        with pytest.raises(nn.NanomsgError):
            worse.recv(nn.DONTWAIT)


def test_receive_priorities(urls: Urls) -> None:
    a, b = urls(), urls()
    with sock(nn.PUSH) as push1, sock(nn.PUSH) as push2, sock(nn.PULL) as pull:
        push1.bind(a)
        push2.bind(b)
        pull.setsockopt(nn.SOL_SOCKET, nn.RCVPRIO, 2)
        pull.connect(a)
        pull.setsockopt(nn.SOL_SOCKET, nn.RCVPRIO, 1)
        pull.connect(b)
        push1.send(b"ABC")
        push1.send(b"ABC2")
        push2.send(b"DEF")
        wait_pipes(pull, 2)
        wait_until(lambda: all(p.can_recv() for p in pull.pipes), what="both queued")
        assert [p.rcvprio for p in sorted(pull.pipes, key=lambda p: p.endpoint)] == [2, 1]
        assert [pull.recv() for _ in range(3)] == [b"DEF", b"ABC", b"ABC2"]


def test_equal_priorities_round_robin(urls: Urls) -> None:
    a, b, c = urls(), urls(), urls()
    with sock(nn.PULL) as p1, sock(nn.PULL) as p2, sock(nn.PULL) as p3, \
            sock(nn.PUSH) as push:
        for p, u in ((p1, a), (p2, b), (p3, c)):
            p.bind(u)
        push.setsockopt(nn.SOL_SOCKET, nn.SNDPRIO, 4)
        push.connect(a)
        push.connect(b)
        push.setsockopt(nn.SOL_SOCKET, nn.SNDPRIO, 9)
        push.connect(c)
        wait_pipes(push, 3)
        for i in range(6):
            push.send(b"%d" % i)
        got1 = [p1.recv() for _ in range(3)]
        got2 = [p2.recv() for _ in range(3)]
        assert sorted(got1 + got2, key=int) == [b"%d" % i for i in range(6)]
        assert {got1[0], got2[0]} == {b"0", b"1"}
        with pytest.raises(nn.NanomsgError):
            p3.recv(nn.DONTWAIT)


def test_removing_a_pipe(urls: Urls) -> None:
    url = urls()
    with sock(nn.PUSH) as push:
        push.bind(url)
        with sock(nn.PULL) as pull:
            pull.connect(url)
            push.send(b"ABC")
            assert pull.recv() == b"ABC"
        wait_until(lambda: not push.pipes, what="the pipe to go")
        with pytest.raises(nn.NanomsgError) as ei:
            push.send(b"ABC", nn.DONTWAIT)
        assert ei.value.errno == nn.EAGAIN
        with sock(nn.PULL) as pull:
            pull.connect(url)
            push.send(b"ABC")
            assert pull.recv() == b"ABC"


def test_priority_out_of_range_is_einval() -> None:
    with nn.Socket(nn.AF_SP, nn.PUSH) as s:
        for opt in (nn.SNDPRIO, nn.RCVPRIO):
            for bad in (0, 17, -1):
                with pytest.raises(nn.NanomsgError) as ei:
                    s.setsockopt(nn.SOL_SOCKET, opt, bad)
                assert ei.value.errno == nn.EINVAL
            assert s.getsockopt(nn.SOL_SOCKET, opt) == 8
