"""PAIR v0 and PAIR v1 (pair1): one peer, messages both ways."""

import nanomsg_core as nn

# PAIR v0 over inproc: both sides send and receive.
with nn.Socket(nn.AF_SP, nn.PAIR, recv_timeout=2000) as a, \
        nn.Socket(nn.AF_SP, "pair", recv_timeout=2000) as b:
    a.bind("inproc://pair-demo")
    b.connect("inproc://pair-demo")
    b.send(b"hello from b")
    print("a got", a.recv())
    a.send(b"hello from a")
    print("b got", b.recv())

# PAIR v1 (NNG's pair1) over tcp on a free port; a raw socket sees the hop count.
with nn.Socket(nn.AF_SP, nn.PAIR1, recv_timeout=2000) as a, \
        nn.Socket(nn.AF_SP_RAW, "pair1", recv_timeout=2000) as b:
    url = a.endpoint_address(a.bind("tcp://127.0.0.1:0"))
    b.connect(url)
    a.send(b"counted")
    msg = b.recv_msg()
    hops = int.from_bytes(msg.header, "big")
    print("raw pair1 got", msg.body, "after", hops, "hop(s) from", msg.pipe.remote_address)
    assert hops == 1
