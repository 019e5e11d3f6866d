"""TCP keepalive: notice a dead peer on an idle connection.

Run: python keepalive.py
"""

import nanomsg_core as nn

with nn.Socket(nn.AF_SP, nn.PAIR) as server, nn.Socket(nn.AF_SP, nn.PAIR) as client:
    for s in (server, client):
        s.setsockopt(nn.TCP, nn.TCP_KEEPALIVE, 1)   # before bind/connect
    eid = server.bind("tcp://127.0.0.1:0")
    client.connect(server.endpoint_address(eid), block=True)
    print("TCP_KEEPALIVE:", client.getsockopt(nn.TCP, nn.TCP_KEEPALIVE),
          "- the OS probes this connection when it has been idle")
    try:
        client.setsockopt(nn.TCP, nn.TCP_KEEPALIVE, 2)
    except nn.NanomsgError as e:
        print("refused:", e)
