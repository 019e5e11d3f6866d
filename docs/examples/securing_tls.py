"""Securing connections: a REP over tls+tcp that requires client
certificates and answers each client by the name in its certificate; the
client verifies the server under a name of the server's own
(TLS_SERVER_NAME), with keepalive on.  Certificates from trustme (a test CA)."""

import ssl

import trustme

import nanomsg_core as nn

ca = trustme.CA()
server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ca.issue_cert("rep.internal").configure_cert(server_ctx)
server_ctx.verify_mode = ssl.CERT_REQUIRED          # no client certificate, no connection
ca.configure_trust(server_ctx)

client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ca.configure_trust(client_ctx)
ca.issue_cert("worker-1.internal").configure_cert(client_ctx)

with nn.Socket(nn.AF_SP, nn.REP, recv_timeout=5000) as rep, \
        nn.Socket(nn.AF_SP, nn.REQ, recv_timeout=5000) as req:
    rep.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx)
    url = rep.endpoint_address(rep.bind("tls+tcp://127.0.0.1:0"))
    req.setsockopt(nn.TLS, nn.TLS_CONFIG, client_ctx)
    req.setsockopt(nn.TLS, nn.TLS_SERVER_NAME, "rep.internal")   # not the URL's 127.0.0.1
    req.setsockopt(nn.TCP, nn.TCP_KEEPALIVE, 1)
    req.connect(url, block=True)

    req.send(b"hello")
    msg = rep.recv_msg()
    assert msg.pipe is not None and msg.pipe.peer_certificate is not None
    names = [v for _, v in msg.pipe.peer_certificate["subjectAltName"]]
    rep.send(b"hello, " + names[0].encode())
    print(req.recv().decode())
