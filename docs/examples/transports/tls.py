"""tls+tcp:// with an ssl.SSLContext set through (TLS, TLS_CONFIG).

Needs the contrib distribution nanomsg-tls, and trustme for throw-away certificates.
"""

import ssl

import trustme

import nanomsg_core as nn

ca = trustme.CA()
server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)     # verifies certificate and host
ca.configure_trust(client_ctx)

with nn.Socket(nn.AF_SP, nn.REP, recv_timeout=5000) as rep, \
        nn.Socket(nn.AF_SP, nn.REQ, recv_timeout=5000) as req:
    rep.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx)     # before bind
    url = rep.endpoint_address(rep.bind("tls+tcp://127.0.0.1:0"))
    req.setsockopt(nn.TLS, nn.TLS_CONFIG, client_ctx)     # before connect
    req.connect(url)
    req.send(b"secret question")
    print("server got", rep.recv(), "over", rep.pipes[0].transport)
    rep.send(b"secret answer")
    print("client got", req.recv())
