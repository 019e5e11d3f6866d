"""A REP server inside an asyncio application: one socket, one context per
in-flight request, so slow requests don't hold up the others."""

import asyncio

import nanomsg_core as nn


async def handle(ctx: nn.Context) -> None:
    with ctx:
        request = await ctx.arecv()
        await asyncio.sleep(0.05)                  # slow work, done concurrently
        await ctx.asend(b"reply to " + request)


async def serve(rep: nn.Socket, workers: int) -> None:
    await asyncio.gather(*(handle(rep.context()) for _ in range(workers)))


async def client(url: str, i: int) -> bytes:
    with nn.Socket(nn.AF_SP, nn.REQ, connect=url, recv_timeout=5000) as req:
        await req.asend(b"request %d" % i)
        return await req.arecv()


async def main() -> None:
    async with nn.Socket(nn.AF_SP, nn.REP, bind="tcp://127.0.0.1:0") as rep:
        url = rep.endpoint_address(1)
        server = asyncio.create_task(serve(rep, workers=20))
        loop = asyncio.get_running_loop()
        start = loop.time()
        replies = await asyncio.gather(*(client(url, i) for i in range(20)))
        elapsed = loop.time() - start
        await server
    assert replies == [b"reply to request %d" % i for i in range(20)]
    print("20 requests of 50 ms each answered in %.2f s" % elapsed)


if __name__ == "__main__":
    asyncio.run(main())
