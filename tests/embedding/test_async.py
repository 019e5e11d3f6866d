"""asyncio and trio for every async call, ``async with``/``async for``,
cancellation that loses no message, many awaiters without threads."""

from __future__ import annotations

import asyncio
import threading

import pytest
import trio

import nanomsg_core as nn
from tests.support import Urls, sock, wait_pipes


def _connected(new_url: Urls) -> tuple[nn.Socket, nn.Socket]:
    a, b = sock(nn.PAIR), sock(nn.PAIR)
    b.connect(a.endpoint_address(a.bind(new_url())))
    wait_pipes(a, 1)
    wait_pipes(b, 1)
    return a, b


def test_trio_send_recv_and_msg(new_url: Urls) -> None:
    a, b = _connected(new_url)

    async def main() -> None:
        async def echo() -> None:
            msg = await a.arecv_msg()
            await a.asend_msg(nn.Message(msg.body + b"!"))
        async with trio.open_nursery() as n:
            n.start_soon(echo)
            await b.asend(b"hi")
            with trio.fail_after(5):
                assert await b.arecv() == b"hi!"
    with a, b:
        trio.run(main)


def test_trio_timeout_and_cancellation_lose_nothing(new_url: Urls) -> None:
    a, b = _connected(new_url)
    a.recv_timeout = 50

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await a.arecv()
        a.recv_timeout = -1
        with trio.move_on_after(0.05) as scope:
            await a.arecv()
        assert scope.cancelled_caught
        assert not a._rwaiters
        b.send(b"kept")
        with trio.fail_after(5):
            assert await a.arecv() == b"kept"
    with a, b:
        trio.run(main)


def test_trio_many_awaiters(new_url: Urls) -> None:
    rep, req_url = sock(nn.PULL), new_url()
    push = sock(nn.PUSH)
    push.connect(rep.endpoint_address(rep.bind(req_url)))
    got: list[bytes] = []

    async def main() -> None:
        threads = threading.active_count()

        async def one() -> None:
            got.append(await rep.arecv())
        async with trio.open_nursery() as n:
            for _ in range(300):
                n.start_soon(one)
            await trio.sleep(0)
            assert threading.active_count() <= threads + 1
            for i in range(300):
                push.send(b"%d" % i)
    with rep, push:
        trio.run(main)
    assert sorted(got) == sorted(b"%d" % i for i in range(300))


def test_asyncio_async_with_and_async_for(new_url: Urls) -> None:
    url = new_url()

    async def main() -> list[bytes]:
        async with nn.Socket(nn.AF_SP, nn.PULL, bind=url) as pull, \
                nn.Socket(nn.AF_SP, nn.PUSH, connect=url) as push:
            for i in range(3):
                await push.asend(b"%d" % i)
            out = []
            async for body in pull:
                out.append(body)
                if len(out) == 3:
                    pull.close()
            return out
    assert asyncio.run(main()) == [b"0", b"1", b"2"]


def test_trio_async_for_ends_on_close(new_url: Urls) -> None:
    a, b = _connected(new_url)

    async def main() -> list[bytes]:
        out = []
        b.send(b"1")
        b.send(b"2")
        async for body in a:
            out.append(body)
            if len(out) == 2:
                a.close()
        return out
    with b:
        assert trio.run(main) == [b"1", b"2"]
