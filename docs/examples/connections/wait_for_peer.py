"""Waiting for a peer: connect(url, block=True) returns once the connection is up.

Run: python wait_for_peer.py
"""

import errno
import socket
import time

import nanomsg_core as nn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


url = "tcp://127.0.0.1:%d" % free_port()

# Nobody listens yet: a blocking connect fails at once and leaves no endpoint.
with nn.Socket(nn.AF_SP, nn.PAIR) as client:
    t0 = time.perf_counter()
    try:
        client.connect(url, block=True)
    except nn.NanomsgError as e:
        assert e.errno == errno.ECONNREFUSED
        print("nobody there: %s after %.1f ms; endpoints: %s"
              % (nn.strerror(e.errno), (time.perf_counter() - t0) * 1000, client.endpoints))

# With a server, it returns with the pipe attached: no polling of s.pipes.
with nn.Socket(nn.AF_SP, nn.PAIR) as server, nn.Socket(nn.AF_SP, nn.PAIR) as client:
    server.bind(url)
    client.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 2000)   # bounds the wait (ETIMEDOUT)
    client.connect(url, block=True)
    client.send(b"hello", nn.DONTWAIT)                    # cannot be EAGAIN now
    print("connected; the server got", server.recv())
