"""asend/arecv: same semantics as send/recv, no thread parked per pending call."""

from __future__ import annotations

import asyncio
import errno
import threading

import pytest

import nanomsg_core as nn


def test_many_concurrent_awaiters(inproc_url: str) -> None:
    async def main() -> None:
        with nn.Socket(nn.AF_SP, nn.PAIR) as a, nn.Socket(nn.AF_SP, nn.PAIR) as b:
            a.bind(inproc_url)
            b.connect(inproc_url)
            threads_before = threading.active_count()
            n = 500
            tasks = [asyncio.create_task(a.arecv()) for _ in range(n)]
            await asyncio.sleep(0)                       # let every task park
            assert len(a._rwaiters) == n
            assert threading.active_count() <= threads_before + 1   # the engine, at most
            for i in range(n):
                await b.asend(b"%d" % i)
            got = await asyncio.wait_for(asyncio.gather(*tasks), 10)
            assert sorted(got) == sorted(b"%d" % i for i in range(n))
    asyncio.run(main())


def test_arecv_from_a_thread_sender(inproc_url: str) -> None:
    async def main() -> None:
        with nn.Socket(nn.AF_SP, nn.PAIR) as a, nn.Socket(nn.AF_SP, nn.PAIR) as b:
            a.bind(inproc_url)
            b.connect(inproc_url)
            th = threading.Thread(target=lambda: [b.send(b"%d" % i) for i in range(2000)])
            th.start()
            got = [await asyncio.wait_for(a.arecv(), 10) for _ in range(2000)]
            th.join(5)
            assert got == [b"%d" % i for i in range(2000)]
            m = nn.Message(b"hdr-less")
            await b.asend_msg(m)
            r = await a.arecv_msg()
            assert r.body == b"hdr-less" and r.pipe is not None
    asyncio.run(main())


def test_async_timeouts_and_dontwait() -> None:
    async def main() -> None:
        with nn.Socket(nn.AF_SP, nn.PAIR) as s:
            with pytest.raises(nn.NanomsgError) as ei:
                await s.arecv(nn.DONTWAIT)
            assert ei.value.errno == errno.EAGAIN
            s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 50)
            s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 50)
            with pytest.raises(nn.NanomsgError) as ei:
                await s.arecv()
            assert ei.value.errno == errno.ETIMEDOUT
            with pytest.raises(nn.NanomsgError) as ei:
                await s.asend(b"nobody")
            assert ei.value.errno == errno.ETIMEDOUT
            assert not s._rwaiters and not s._swaiters
    asyncio.run(main())


def test_cancelled_awaiter_leaves_no_waiter(inproc_url: str) -> None:
    async def main() -> None:
        with nn.Socket(nn.AF_SP, nn.PAIR) as a, nn.Socket(nn.AF_SP, nn.PAIR) as b:
            a.bind(inproc_url)
            b.connect(inproc_url)
            t = asyncio.create_task(a.arecv())
            await asyncio.sleep(0)
            t.cancel()
            with pytest.raises(asyncio.CancelledError):
                await t
            assert not a._rwaiters
            b.send(b"after")
            assert await asyncio.wait_for(a.arecv(), 5) == b"after"
    asyncio.run(main())


def test_close_fails_pending_awaiters() -> None:
    async def main() -> None:
        s = nn.Socket(nn.AF_SP, nn.PAIR)
        tasks = [asyncio.create_task(s.arecv()) for _ in range(10)]
        await asyncio.sleep(0)
        s.close()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
        assert all(isinstance(r, nn.NanomsgError) and r.errno == errno.EBADF for r in results)
    asyncio.run(main())
