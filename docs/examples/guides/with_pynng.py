"""Our REP server and a pynng REQ client on one tcp port: the same wire."""

import pynng

import nanomsg_core as nn

with nn.Socket(nn.AF_SP, nn.REP, recv_timeout=5000) as server:
    url = server.endpoint_address(server.bind("tcp://127.0.0.1:0"))
    with pynng.Req0(dial=url, recv_timeout=5000) as client:
        client.send(b"hello from NNG")
        request = server.recv_msg()
        server.send(request.body + b", hello from nanomsg_core")
        print(client.recv(), "from", request.pipe.remote_address)
