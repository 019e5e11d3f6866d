"""The socket is its own default context: a Context goes through the very
send/receive path (the door) the socket uses, so what one does -- counting,
timeouts, errors, asyncio and trio -- the other does too, and the traffic
of a context still counts after it is closed or dropped."""

from __future__ import annotations

import asyncio
import errno
import gc
from typing import Callable

import pytest

import nanomsg_core as nn
from tests.contexts.test_contexts_sockets import req_rep
from tests.support import sock

pytestmark = pytest.mark.timeout(60)

Urls = Callable[[], str]


def _ask(req: nn.Socket, rep: nn.Socket, body: bytes) -> None:
    c = req.context()
    c.send(body)
    assert rep.recv() == body
    rep.send(body[:2])
    assert c.recv() == body[:2]
    c.close()


def test_closed_and_dropped_contexts_still_count(new_url: Urls) -> None:
    req, rep = req_rep(new_url())
    with req, rep:
        _ask(req, rep, b"12345")                # a closed context
        c = req.context()                       # a dropped one, never closed
        c.send(b"678")
        assert rep.recv() == b"678"
        rep.send(b"9")
        assert c.recv() == b"9"
        del c
        gc.collect()
        req.send(b"ab")                         # and the socket's own door
        assert rep.recv() == b"ab"
        rep.send(b"c")
        assert req.recv() == b"c"
        assert req.get_statistic(nn.STAT_MESSAGES_SENT) == 3
        assert req.get_statistic(nn.STAT_BYTES_SENT) == 5 + 3 + 2
        assert req.get_statistic(nn.STAT_MESSAGES_RECEIVED) == 3
        assert req.get_statistic(nn.STAT_BYTES_RECEIVED) == 2 + 1 + 1


def test_context_and_socket_time_out_alike(new_url: Urls) -> None:
    rep = sock(nn.REP)
    with rep:
        rep.bind(new_url())
        rep.recv_timeout = 50
        c = rep.context()
        for door in (rep, c):
            with pytest.raises(nn.NanomsgError) as ei:
                door.recv()
            assert ei.value.errno == errno.ETIMEDOUT
            assert "recv timed out after 50 ms (RCVTIMEO)" in str(ei.value)


def test_closed_context_and_closed_socket_say_which(new_url: Urls) -> None:
    req, rep = req_rep(new_url())
    with rep:
        c = req.context()
        c.close()
        with pytest.raises(nn.NanomsgError, match="context is closed") as ei:
            c.send(b"x")
        assert ei.value.errno == errno.EBADF
        assert not c.can_send() and not c.can_recv()
        live = req.context()
        req.close()
        for door in (live, req):
            with pytest.raises(nn.NanomsgError, match="socket is closed") as ei:
                door.recv()
            assert ei.value.errno == errno.EBADF


def test_context_asyncio_and_trio(new_url: Urls) -> None:
    trio = pytest.importorskip("trio")
    req, rep = req_rep(new_url())
    with req, rep:
        async def ask_asyncio() -> bytes:
            c = req.context()
            await c.asend(b"q-asyncio")
            return await c.arecv()

        async def ask_trio() -> bytes:
            c = req.context()
            await c.asend(b"q-trio")
            with trio.fail_after(10):
                return bytes(await c.arecv())

        def answer() -> None:
            got = rep.recv()
            rep.send(got.replace(b"q", b"a"))

        loop = asyncio.new_event_loop()
        try:
            fut = loop.run_in_executor(None, answer)
            assert loop.run_until_complete(ask_asyncio()) == b"a-asyncio"
            loop.run_until_complete(fut)
        finally:
            loop.close()

        async def trio_main() -> bytes:
            async with trio.open_nursery() as n:
                n.start_soon(trio.to_thread.run_sync, answer)
                return await ask_trio()
        assert trio.run(trio_main) == b"a-trio"
