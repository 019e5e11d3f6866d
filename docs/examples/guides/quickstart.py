"""The quickstart: REQ/REP over tcp on a free port, a timeout, an error."""

import nanomsg_core as nn

with nn.Socket(nn.AF_SP, nn.REP, recv_timeout=2000) as rep, \
        nn.Socket(nn.AF_SP, nn.REQ, recv_timeout=2000) as req:
    eid = rep.bind("tcp://127.0.0.1:0")    # port 0: the OS picks a port
    url = rep.endpoint_address(eid)        # the address, real port included
    req.connect(url)                       # would work before the bind too

    req.send(b"ping")
    request = rep.recv()
    rep.send(request + b" -> pong")
    print(url, "answered", req.recv())

    rep.recv_timeout = 100                 # the common options are properties
    try:
        rep.recv()
    except TimeoutError as e:              # a NanomsgError, errno ETIMEDOUT
        print("nothing more:", e)
