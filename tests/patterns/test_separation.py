"""Sockets of incompatible protocols never pair (nanomsg's tests/separation.c)."""

from __future__ import annotations

import pytest

import nanomsg_core as nn

from tests.support import Urls, wait_pipes, wait_until

pytestmark = pytest.mark.timeout(20)

MISMATCHES = [(nn.PAIR, nn.PULL), (nn.PUSH, nn.PUB), (nn.PUB, nn.PUB), (nn.SUB, nn.SUB),
              (nn.PUSH, nn.PUSH), (nn.PULL, nn.PULL), (nn.BUS, nn.PAIR), (nn.BUS, nn.PUB),
              (nn.SUB, nn.PUSH), (nn.PULL, nn.PAIR), (nn.PUSH, nn.BUS)]
BLOCKING_SENDERS = (nn.PAIR, nn.PUSH)


def _refused(binder: int, connector: int, url: str, bind_first: bool) -> None:
    with nn.Socket(nn.AF_SP, binder) as b, nn.Socket(nn.AF_SP, connector) as c:
        if bind_first:
            b.bind(url)
            c.connect(url)
        else:
            c.connect(url)
            b.bind(url)
        senders = [s for s in (b, c) if s.protocol in BLOCKING_SENDERS]
        for s in senders:
            # a send that needs a peer times out: no pipe ever formed
            s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 100)
            with pytest.raises(nn.NanomsgError) as ei:
                s.send(b"ABC")
            assert ei.value.errno == nn.ETIMEDOUT
        if not senders:
            with pytest.raises(AssertionError):
                wait_until(lambda: bool(b.pipes or c.pipes), timeout=0.2)
        assert b.pipes == [] and c.pipes == []


@pytest.mark.parametrize("binder,connector", MISMATCHES)
def test_mismatched_protocols_refuse(urls: Urls, binder: int, connector: int) -> None:
    _refused(binder, connector, urls(), bind_first=True)


@pytest.mark.parametrize("binder,connector", MISMATCHES)
def test_mismatched_protocols_refuse_connect_first_inproc(inproc_url: str, binder: int,
                                                          connector: int) -> None:
    """inproc completes a waiting dial at bind time: the peer check still refuses."""
    _refused(binder, connector, inproc_url, bind_first=False)


@pytest.mark.parametrize("a,b", [(nn.PUSH, nn.PULL), (nn.PUB, nn.SUB), (nn.BUS, nn.BUS)])
def test_matching_protocols_do_pair(urls: Urls, a: int, b: int) -> None:
    """The control: the same set-up with compatible peers connects."""
    url = urls()
    with nn.Socket(nn.AF_SP, a) as x, nn.Socket(nn.AF_SP, b) as y:
        x.bind(url)
        y.connect(url)
        wait_pipes(x, 1)
        wait_pipes(y, 1)
