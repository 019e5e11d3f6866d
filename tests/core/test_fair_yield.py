"""A receiver draining several connections without blocking lets the engine
thread run now and then (``time.sleep(0)``), but only when the engine has
I/O ready (the poller's ``has_pending``): on a busy machine ``sleep(0)``
gives up the CPU, a loss when the engine has nothing to do."""

from __future__ import annotations

import select
import socket
from typing import Any, Optional

import pytest

import nanomsg_core as nn
from nanomsg_core.engine._selector_poller import SelectorPoller
from nanomsg_core.interfaces import PendingProbe
from nanomsg_core.sockets import _door
from tests.support import sock, wait_pipes

pytestmark = pytest.mark.timeout(60)

# the drain tests swap the door's module functions; compiled code calls them directly
_patches_the_door = pytest.mark.skipif(
    nn.COMPILED, reason="swaps sockets._door's module functions, which the compiled door "
    "calls directly (the pure build runs the same code)")

MESSAGES = 400


class EngineWith:
    """The engine as the receive path sees it, with a poller that answers
    ``has_pending`` as told (``None``: a poller without the capability)."""

    def __init__(self, pending: Optional[bool]) -> None:
        self.probes = 0

        class Poller:
            pass
        self.poller: Any = Poller()
        if pending is not None:
            def has_pending() -> bool:
                self.probes += 1
                return pending
            self.poller.has_pending = has_pending


def _drain_counting_yields(monkeypatch: pytest.MonkeyPatch, engine: EngineWith) -> int:
    yields: list[float] = []
    with sock(nn.PULL, timeout=20000) as pull, sock(nn.PUSH) as a, sock(nn.PUSH) as b:
        pull.bind("inproc://fair-yield")
        a.connect("inproc://fair-yield")
        b.connect("inproc://fair-yield")
        wait_pipes(pull, 2)
        for i in range(MESSAGES // 2):
            a.send(b"a%d" % i)
            b.send(b"b%d" % i)
        monkeypatch.setattr(_door, "YIELD_INTERVAL", 0.0)
        monkeypatch.setattr(_door, "_sleep", yields.append)
        monkeypatch.setattr(_door, "get_engine", lambda: engine)
        got = [pull.recv() for _ in range(MESSAGES)]
    assert len(got) == MESSAGES
    return len(yields)


@_patches_the_door
def test_no_yield_while_the_engine_has_nothing_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = EngineWith(pending=False)
    assert _drain_counting_yields(monkeypatch, engine) == 0
    assert engine.probes >= MESSAGES // _door.YIELD_EVERY - 2, "the probe was not asked"


@_patches_the_door
def test_a_yield_every_streak_while_the_engine_has_io_ready(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert _drain_counting_yields(monkeypatch, EngineWith(pending=True)) \
        >= MESSAGES // _door.YIELD_EVERY - 2


@_patches_the_door
def test_a_poller_that_cannot_tell_gets_the_yield(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _drain_counting_yields(monkeypatch, EngineWith(pending=None)) \
        >= MESSAGES // _door.YIELD_EVERY - 2


@pytest.mark.skipif(not hasattr(select, "epoll"), reason="elsewhere it cannot tell: always True")
def test_the_selector_poller_says_when_io_is_ready() -> None:
    poller = SelectorPoller()
    assert isinstance(poller, PendingProbe)
    a, b = socket.socketpair()
    a.setblocking(False)
    got: list[int] = []
    try:
        poller.wait(0)
        assert not poller.has_pending()
        poller.recv_into(a, memoryview(bytearray(64)), lambda n, err: got.append(n))
        poller.wait(0)
        assert not poller.has_pending()
        b.send(b"x")
        assert poller.has_pending(), "data for a pending receive"
        poller.wait(1.0)
        assert got == [1] and not poller.has_pending()
        poller.wakeup()
        assert poller.has_pending(), "a posted wake-up"
        poller.wait(1.0)
        assert not poller.has_pending()
    finally:
        poller.cancel(a)
        a.close()
        b.close()
        poller.close()
