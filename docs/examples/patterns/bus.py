"""BUS: every message goes to every directly connected peer, never back to its sender."""

import time

import nanomsg_core as nn

nodes = [nn.Socket(nn.AF_SP, nn.BUS, recv_timeout=2000) for _ in range(3)]
try:
    # a full mesh of three nodes: each binds, and connects to the ones before it
    urls = []
    for i, node in enumerate(nodes):
        urls.append("inproc://bus-%d" % i)
        node.bind(urls[-1])
        for url in urls[:-1]:
            node.connect(url)
    for node in nodes:                       # wait until every node sees both others
        while len(node.pipes) < 2:
            time.sleep(0.01)
    nodes[0].send(b"hello, bus")
    for i in (1, 2):
        print("node", i, "got", nodes[i].recv())
    try:
        nodes[0].recv(nn.DONTWAIT)
    except BlockingIOError:
        print("node 0 did not get its own message back")
finally:
    for node in nodes:
        node.close()
