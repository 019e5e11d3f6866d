"""A receiver that parks tries the protocol again only if a wake-up came
since its own failed attempt (``SocketCore.woken``): no wake-up in that
window is lost, whatever reports it, and none is paid for twice."""

from __future__ import annotations

import threading
from typing import Any, Optional

import pytest

import nanomsg_core as nn
from nanomsg_core.sockets._door import Door
from tests.support import free_port, sock, wait_pipes


def _inproc_pair(a: nn.Socket, b: nn.Socket) -> None:
    url = "inproc://wake-stamp-%d" % id(a)
    a.bind(url)
    b.connect(url)
    wait_pipes(a, 1)
    wait_pipes(b, 1)


def _received_in_time(receive: Any) -> list[Any]:
    """Run *receive* in a thread with no receive timeout of its own (a lost
    wake-up would wait for ever); what it returned or raised, or fail."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(receive())
        except BaseException as e:          # checked by the caller
            out.append(e)
    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(20)
    assert not th.is_alive(), "the receiver missed a wake-up that came before it parked"
    return out


def _in_the_window(monkeypatch: pytest.MonkeyPatch, action: Any) -> None:
    """Run *action* once, between a receiver's failed attempt and its parking."""
    original = Door._wait_recv
    done = [False]

    def late(self: Door, flags: int, seen: Optional[int] = None) -> Any:
        if not done[0]:
            done[0] = True
            action()
        return original(self, flags, seen)
    monkeypatch.setattr(Door, "_wait_recv", late)


@pytest.mark.timeout(60)
def test_a_delivery_between_the_attempt_and_parking_is_received(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with sock(nn.PAIR, timeout=-1) as a, sock(nn.PAIR) as b:
        _inproc_pair(a, b)
        _in_the_window(monkeypatch, lambda: b.send(b"late"))
        assert _received_in_time(a.recv) == [b"late"]


@pytest.mark.timeout(60)
def test_a_message_kept_as_a_routed_reply_in_the_window_is_received(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """REQ: the reply arrives (inproc: delivered by the replier's thread)
    in the window; through recv_msg, the Message path."""
    with sock(nn.REQ, timeout=-1) as req, sock(nn.REP, timeout=10000) as rep:
        _inproc_pair(req, rep)
        req.send(b"question")
        assert rep.recv() == b"question"
        _in_the_window(monkeypatch, lambda: rep.send(b"answer"))
        assert _received_in_time(lambda: req.recv_msg().body) == [b"answer"]


@pytest.mark.timeout(60)
def test_a_close_in_the_window_fails_the_receiver_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with sock(nn.PAIR, timeout=-1) as a, sock(nn.PAIR) as b:
        _inproc_pair(a, b)
        closer = threading.Thread(target=a.close)
        _in_the_window(monkeypatch, lambda: (closer.start(), closer.join(10)))
        (err,) = _received_in_time(a.recv)
        assert isinstance(err, nn.NanomsgError), err


@pytest.mark.skipif(nn.COMPILED, reason="counts calls by patching Req.ctx_recv: compiled "
                    "code calls it natively, past the patch (the same source runs pure)")
@pytest.mark.timeout(60)
def test_a_blocking_receive_tries_the_protocol_once_before_and_once_after(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With no wake-up in the window the parked receiver does not try the
    protocol again before it waits: two attempts per blocking receive."""
    from nanomsg_reqrep._req import Req
    calls = [0]
    original = Req.ctx_recv

    def counted(self: Req, ctx: Any) -> Any:
        calls[0] += 1
        return original(self, ctx)
    monkeypatch.setattr(Req, "ctx_recv", counted)
    url = "tcp://127.0.0.1:%d" % free_port()
    with sock(nn.REQ, timeout=30000) as req, sock(nn.REP, timeout=30000) as rep:
        rep.bind(url)
        req.connect(url)
        wait_pipes(req, 1)
        wait_pipes(rep, 1)
        parked = threading.Event()
        from nanomsg_core.sockets._waker import Waker
        original_wait = Waker.wait_readable

        def wait_readable(self: Waker, fd: int, timeout_ms: int) -> bool:
            parked.set()                        # the receiver waits on its connection
            return original_wait(self, fd, timeout_ms)
        monkeypatch.setattr(Waker, "wait_readable", wait_readable)
        got: list[bytes] = []
        req.send(b"q")

        def receive() -> None:
            got.append(req.recv())
        th = threading.Thread(target=receive, daemon=True)
        th.start()
        assert parked.wait(20)
        rep.send(rep.recv())
        th.join(20)
        assert got == [b"q"]
        assert calls[0] == 2, calls[0]
