"""tcp://: port 0, TCP_NODELAY, connecting from a chosen local address."""

import nanomsg_core as nn

with nn.Socket(nn.AF_SP, nn.PAIR, recv_timeout=2000) as server, \
        nn.Socket(nn.AF_SP, nn.PAIR, recv_timeout=2000) as client:
    eid = server.bind("tcp://127.0.0.1:0")           # port 0: the OS picks a free port
    url = server.endpoint_address(eid)              # e.g. tcp://127.0.0.1:41234
    port = url.rsplit(":", 1)[1]
    client.setsockopt(nn.TCP, nn.TCP_NODELAY, 1)     # before connect: no Nagle delay
    client.connect("tcp://127.0.0.1;127.0.0.1:" + port)   # IFACE;HOST:PORT
    client.send(b"hello")
    msg = server.recv_msg()
    print("server", url, "got", msg.body, "from", msg.pipe.remote_address)
    print("TCP_NODELAY on the client:", client.getsockopt(nn.TCP, nn.TCP_NODELAY))
