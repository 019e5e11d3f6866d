"""The same REP server under trio: one context per in-flight request."""

import trio

import nanomsg_core as nn


async def handle(ctx: nn.Context) -> None:
    with ctx:
        request = await ctx.arecv()
        await trio.sleep(0.05)
        await ctx.asend(b"reply to " + request)


async def client(url: str, i: int, replies: list) -> None:
    with nn.Socket(nn.AF_SP, nn.REQ, connect=url, recv_timeout=5000) as req:
        await req.asend(b"request %d" % i)
        replies.append(await req.arecv())


async def main() -> None:
    replies: list = []
    async with nn.Socket(nn.AF_SP, nn.REP, bind="tcp://127.0.0.1:0") as rep:
        url = rep.endpoint_address(1)
        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            for _ in range(20):
                nursery.start_soon(handle, rep.context())
            for i in range(20):
                nursery.start_soon(client, url, i, replies)
        elapsed = trio.current_time() - start
    assert sorted(replies) == sorted(b"reply to request %d" % i for i in range(20))
    print("20 requests of 50 ms each answered in %.2f s" % elapsed)


if __name__ == "__main__":
    trio.run(main)
