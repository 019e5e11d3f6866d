"""ipc:// (a Unix-domain socket file) and abstract:// (Linux abstract names)."""

import os
import sys
import tempfile

import nanomsg_core as nn

with tempfile.TemporaryDirectory() as tmp:
    url = "ipc://" + os.path.join(tmp, "demo.ipc")
    with nn.Socket(nn.AF_SP, nn.REP, bind=url, recv_timeout=2000) as rep, \
            nn.Socket(nn.AF_SP, nn.REQ, connect=url, recv_timeout=2000) as req:
        req.send(b"ping")
        msg = rep.recv_msg()
        pipe = msg.pipe
        print("ipc request", msg.body, "from pid", pipe.peer_pid, "uid", pipe.peer_uid)
        rep.send(b"pong")
        print("ipc reply", req.recv())

if sys.platform.startswith("linux"):
    with nn.Socket(nn.AF_SP, nn.PAIR, recv_timeout=2000) as a, \
            nn.Socket(nn.AF_SP, nn.PAIR, recv_timeout=2000) as b:
        url = a.endpoint_address(a.bind("abstract://"))   # empty name: the kernel picks one
        b.connect(url)
        b.send(b"hi")
        print("abstract", url, "->", a.recv())
