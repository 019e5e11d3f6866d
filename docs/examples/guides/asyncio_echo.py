"""The same exchange under asyncio: no thread is parked per waiting call."""

import asyncio

import nanomsg_core as nn


async def main() -> None:
    async with nn.Socket(nn.AF_SP, nn.REP, bind="inproc://echo") as rep, \
            nn.Socket(nn.AF_SP, nn.REQ, connect="inproc://echo") as req:

        async def serve() -> None:
            async for request in rep:            # until the socket closes
                await rep.asend(b"echo " + request)

        server = asyncio.create_task(serve())
        for word in (b"a", b"b", b"c"):
            await req.asend(word)
            print(await req.arecv())
        rep.close()
        await server


asyncio.run(main())
