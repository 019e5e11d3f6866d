"""Wait for the first peer with an event instead of a sleep, and admit only
local peers: pipe_notify as an access-control point."""

import threading

import nanomsg_core as nn

connected = threading.Event()
refused = []


def admit(pipe: nn.Pipe) -> None:              # PIPE_EV_ADD_PRE: runs before the protocol
    if not pipe.remote_address.startswith("tcp://127.0.0.1:"):
        refused.append(pipe.remote_address)
        pipe.close()                           # refuses it: the protocol never sees it


with nn.Socket(nn.AF_SP, nn.PULL, recv_timeout=5000) as server:
    server.pipe_notify(nn.PIPE_EV_ADD_PRE, admit)
    server.pipe_notify(nn.PIPE_EV_ADD_POST, lambda pipe: connected.set())
    url = server.endpoint_address(server.bind("tcp://127.0.0.1:0"))
    with nn.Socket(nn.AF_SP, nn.PUSH, connect=url) as client:
        assert connected.wait(5)               # the peer is here: no sleep needed
        client.send(b"hello")
        msg = server.recv_msg()
        print(msg.body, "from", msg.pipe.remote_address)
        print("messages received:", server.get_statistic(nn.STAT_MESSAGES_RECEIVED))
