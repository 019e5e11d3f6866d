"""REQ/REP: a request, the matching reply; EFSM out of order."""

import threading

import nanomsg_core as nn

with nn.Socket(nn.AF_SP, nn.REP, recv_timeout=5000) as rep, \
        nn.Socket(nn.AF_SP, "req", recv_timeout=5000) as req:
    url = rep.endpoint_address(rep.bind("tcp://127.0.0.1:0"))
    req.connect(url)

    def serve(count: int) -> None:
        for _ in range(count):
            rep.send(b"echo: " + rep.recv())

    server = threading.Thread(target=serve, args=(3,))
    server.start()
    for word in (b"one", b"two", b"three"):
        req.send(word)
        print(req.recv())
    server.join()

    try:
        req.recv()                       # no request outstanding
    except nn.NanomsgError as e:
        assert e.errno == nn.EFSM
        print("recv before send:", e)
