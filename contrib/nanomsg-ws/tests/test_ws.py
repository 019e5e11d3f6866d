"""ws:// and wss:// between our own sockets: data path, wire details of the
upgrade, robustness (bad peers close only their own connection), TLS."""

from __future__ import annotations

import base64
import os
import socket
import ssl
import threading
from typing import Callable

import pytest
import trustme

import nanomsg_core as nn
from tests.support import free_port, wait_pipes, wait_until

Socks = Callable[..., nn.Socket]
Url = Callable[..., str]


def tls_pair(socks: Socks, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext,
             proto_a: int, proto_b: int) -> tuple[nn.Socket, nn.Socket]:
    a, b = socks(proto_a), socks(proto_b)
    a.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx)
    b.setsockopt(nn.TLS, nn.TLS_CONFIG, client_ctx)
    return a, b


def conformance(a: nn.Socket, b: nn.Socket) -> None:
    """1000 ordered messages each way, 1 MiB, an empty message."""
    for i in range(1000):
        b.send(b"m%d" % i)
    for i in range(1000):
        assert a.recv() == b"m%d" % i
    for i in range(1000):
        a.send(b"n%d" % i)
    for i in range(1000):
        assert b.recv() == b"n%d" % i
    big = os.urandom(1 << 20)
    b.send(big)
    assert a.recv() == big
    a.send(big)
    assert b.recv() == big
    b.send(b"")
    assert a.recv() == b""


@pytest.mark.parametrize("scheme", ["ws", "wss"])
@pytest.mark.parametrize("binder", ["a-binds", "b-binds"])
def test_pair_conformance(scheme: str, binder: str, socks: Socks, ws_url: Url,
                          server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> None:
    a, b = socks(nn.PAIR), socks(nn.PAIR)
    lis, dia = (a, b) if binder == "a-binds" else (b, a)
    if scheme == "wss":
        lis.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx)
        dia.setsockopt(nn.TLS, nn.TLS_CONFIG, client_ctx)
    url = ws_url("/pair").replace("ws://", scheme + "://")
    lis.bind(url)
    dia.connect(url)
    conformance(a, b)
    assert a.pipes[0].transport == scheme


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_reqrep(scheme: str, socks: Socks, ws_url: Url, server_ctx: ssl.SSLContext,
                client_ctx: ssl.SSLContext) -> None:
    for rep_binds in (True, False):
        req, rep = socks(nn.REQ), socks(nn.REP)
        lis, dia = (rep, req) if rep_binds else (req, rep)
        if scheme == "wss":
            lis.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx)
            dia.setsockopt(nn.TLS, nn.TLS_CONFIG, client_ctx)
        url = ws_url("/rr").replace("ws://", scheme + "://")
        lis.bind(url)
        dia.connect(url)
        for i in range(20):
            req.send(b"q%d" % i)
            assert rep.recv() == b"q%d" % i
            rep.send(b"a%d" % i)
            assert req.recv() == b"a%d" % i


def test_addresses_and_default_path(socks: Socks, ws_url: Url) -> None:
    a, b = socks(nn.PAIR), socks(nn.PAIR)
    url = ws_url("")
    a.bind(url)
    b.connect(url + "/")          # "no path" and "/" are the same resource
    b.send(b"x")
    assert a.recv() == b"x"
    assert b.pipes[0].remote_address == url + "/"
    assert a.pipes[0].local_address == url
    assert a.pipes[0].remote_address + "/" == b.pipes[0].local_address
    assert b.pipes[0].peer_protocol == nn.PAIR


def test_pub_sub_many_subscribers(socks: Socks, ws_url: Url) -> None:
    pub = socks(nn.PUB)
    url = ws_url("/feed")
    pub.bind(url)
    subs = [socks(nn.SUB) for _ in range(3)]
    for s in subs:
        s.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"")
        s.connect(url)
    wait_pipes(pub, 3)
    pub.send(b"news")
    assert [s.recv() for s in subs] == [b"news"] * 3


def test_back_pressure_keeps_order(socks: Socks, ws_url: Url) -> None:
    """A receiver that reads late: reading pauses at RCVBUF and resumes."""
    pull, push = socks(nn.PULL), socks(nn.PUSH)
    pull.setsockopt(nn.SOL_SOCKET, nn.RCVBUF, 4096)
    push.setsockopt(nn.SOL_SOCKET, nn.SNDBUF, 4096)
    url = ws_url("/bp")
    pull.bind(url)
    push.connect(url)
    n = 3000
    done = threading.Event()

    def producer() -> None:
        for i in range(n):
            push.send(b"%06d" % i + b"." * 200)
        done.set()
    t = threading.Thread(target=producer, daemon=True)
    t.start()
    for i in range(n):
        assert pull.recv()[:6] == b"%06d" % i
    t.join(10)
    assert done.is_set()


# -- the upgrade on the wire ------------------------------------------------

def _raw_listener() -> socket.socket:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(5)
    return srv


def _read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_dialer_request_names_the_peer_protocol(socks: Socks) -> None:
    """A REQ dialer asks for rep.sp.nanomsg.org (the listener's protocol)."""
    srv = _raw_listener()
    port = srv.getsockname()[1]
    with srv:
        socks(nn.REQ).connect("ws://127.0.0.1:%d/svc?x=1" % port)
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(5)
            head = _read_head(conn).decode("latin-1")
    lines = head.split("\r\n")
    assert lines[0] == "GET /svc?x=1 HTTP/1.1"
    headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
    assert headers["host"] == "127.0.0.1:%d" % port
    assert headers["upgrade"].lower() == "websocket"
    assert headers["sec-websocket-version"] == "13"
    assert headers["sec-websocket-protocol"] == "rep.sp.nanomsg.org"


def _upgrade(port: int, path: str, proto: str | None) -> tuple[socket.socket, bytes]:
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
           % (path, port, key))
    if proto:
        req += "Sec-WebSocket-Protocol: %s\r\n" % proto
    c.sendall((req + "\r\n").encode())
    return c, _read_head(c)


def _eof(c: socket.socket) -> bool:
    try:
        while c.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return True


def _serving(socks: Socks, ws_url: Url, proto: int = nn.PAIR,
             path: str = "/svc") -> tuple[nn.Socket, str, int]:
    s = socks(proto)
    url = ws_url(path)
    s.bind(url)
    return s, url, int(url.rsplit(":", 1)[1].split("/")[0])


def _still_serves(listener: nn.Socket, url: str, socks: Socks, proto: int = nn.PAIR) -> None:
    good = socks(proto)
    good.connect(url)
    good.send(b"good")
    assert listener.recv() == b"good"


def test_listener_answers_with_its_own_protocol(socks: Socks, ws_url: Url) -> None:
    _, _, port = _serving(socks, ws_url, nn.REP)
    c, head = _upgrade(port, "/svc", "rep.sp.nanomsg.org")
    with c:
        assert head.startswith(b"HTTP/1.1 101 ")
        assert b"\r\nsec-websocket-protocol: rep.sp.nanomsg.org\r\n" in head.lower()


@pytest.mark.parametrize("path,proto,status", [
    ("/other", "pair.sp.nanomsg.org", b"404"),
    ("/svc", "req.sp.nanomsg.org", b"400"),      # a PAIR socket does not serve req
    ("/svc", "nonsense", b"400"),
])
def test_bad_upgrade_closes_only_that_connection(path: str, proto: str, status: bytes,
                                                  socks: Socks, ws_url: Url) -> None:
    s, url, port = _serving(socks, ws_url)
    c, head = _upgrade(port, path, proto)
    with c:
        assert head.split(b" ")[1] == status
        assert _eof(c)
    assert not s.pipes
    _still_serves(s, url, socks)


def test_no_subprotocol_is_pair_only(socks: Socks, ws_url: Url) -> None:
    _, _, port = _serving(socks, ws_url, nn.PAIR)
    c, head = _upgrade(port, "/svc", None)        # nanomsg's leniency: PAIR assumed
    with c:
        assert head.startswith(b"HTTP/1.1 101 ")
    _, _, port = _serving(socks, ws_url, nn.REP)
    c, head = _upgrade(port, "/svc", None)
    with c:
        assert head.split(b" ")[1] == b"400"


@pytest.mark.parametrize("garbage", [
    b"\x00SP\x00\x00\x10\x00\x00",                 # an SP/TCP header, not HTTP
    b"POST /svc HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    b"this is not http at all\r\n\r\n",
    b"GET /svc HTTP/1.1\r\nHost: x\r\n\r\n",        # plain HTTP, no upgrade
])
def test_http_garbage_closes_only_that_connection(garbage: bytes, socks: Socks,
                                                   ws_url: Url) -> None:
    s, url, port = _serving(socks, ws_url)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(garbage)
        assert _eof(c)
    _still_serves(s, url, socks)


@pytest.mark.parametrize("header", [
    b"Sec-WebSocket-Protocol: pair.sp.nanomsg.org\xff",
    b"Sec-WebSocket-Extensions: permessage-\xe9",
    b"Connection: Upgrade\xc3",
    b"Host: 127.0.0.1\x80",
])
def test_non_ascii_upgrade_header_gets_400_and_stops_nothing(header: bytes, socks: Socks,
                                                             ws_url: Url) -> None:
    """wsproto raises UnicodeDecodeError on these; once that ended the engine
    thread and every socket of the process stopped.  Now: 400, that connection
    closes, the listener and an unrelated tcp REP serve on."""
    rep = socks(nn.REP)
    rep_url = "tcp://127.0.0.1:%d" % free_port()
    rep.bind(rep_url)
    req = socks(nn.REQ)
    req.connect(rep_url)
    s, url, port = _serving(socks, ws_url)
    lines = [b"GET /svc HTTP/1.1", b"Host: 127.0.0.1:%d" % port, b"Upgrade: websocket",
             b"Connection: Upgrade", b"Sec-WebSocket-Version: 13",
             b"Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)),
             b"Sec-WebSocket-Protocol: pair.sp.nanomsg.org"]
    name = header.split(b":")[0].lower()
    lines = [ln for ln in lines if ln.split(b":")[0].lower() != name] + [header]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        head = _read_head(c)
        assert head.split(b" ")[1] == b"400", head
        assert _eof(c)
    assert any(t.name == "nanomsg-engine" and t.is_alive() for t in threading.enumerate())
    req.send(b"still there?")
    assert rep.recv() == b"still there?"
    _still_serves(s, url, socks)


def test_oversized_message_closes_only_that_connection(socks: Socks, ws_url: Url) -> None:
    pull = socks(nn.PULL)
    pull.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, 1000)
    url = ws_url("/in")
    pull.bind(url)
    big, small = socks(nn.PUSH), socks(nn.PUSH)
    big.connect(url)
    small.connect(url)
    wait_pipes(pull, 2)
    wait_pipes(big, 1)
    big.send(b"x" * 1001)
    wait_until(lambda: pull.get_statistic(nn.STAT_BROKEN_CONNECTIONS) >= 1,
               what="the oversized sender's connection to drop")
    small.send(b"y" * 1000)                         # RCVMAXSIZE itself is fine
    assert pull.recv() == b"y" * 1000
    wait_pipes(pull, 2)                            # the dropped one reconnected
    wait_pipes(big, 1)
    big.send(b"ok")
    assert pull.recv() == b"ok"


def test_handshake_timeout_is_per_connection(socks: Socks, ws_url: Url,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A peer that connects and says nothing is dropped after the handshake
    timeout, and does not hold up others meanwhile."""
    import nanomsg_ws
    monkeypatch.setattr(nanomsg_ws.WsListener, "handshake_timeout", 0.3)
    s, url, port = _serving(socks, ws_url)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as silent:
        _still_serves(s, url, socks)
        assert _eof(silent)                     # within the socket timeout of 5 s


# -- TLS ----------------------------------------------------------------------

def test_wss_wrong_ca_fails_and_retries(socks: Socks, ws_url: Url,
                                        server_ctx: ssl.SSLContext) -> None:
    lis = socks(nn.PAIR)
    lis.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx)
    url = ws_url("/tls").replace("ws://", "wss://")
    lis.bind(url)
    other = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    trustme.CA().configure_trust(other)
    dia = socks(nn.PAIR)
    dia.setsockopt(nn.TLS, nn.TLS_CONFIG, other)
    dia.connect(url)
    wait_until(lambda: dia.get_statistic(nn.STAT_CONNECT_ERRORS) >= 3,
               what="repeated failed wss attempts")
    assert not dia.pipes and not lis.pipes
    # the socket stays usable: another endpoint of it connects and talks
    plain = socks(nn.PAIR)
    purl = ws_url("/plain")
    plain.bind(purl)
    dia.connect(purl)
    dia.send(b"still here")
    assert plain.recv() == b"still here"


def test_wss_default_context_verifies(socks: Socks, ws_url: Url,
                                      server_ctx: ssl.SSLContext) -> None:
    """Without TLS_CONFIG a dialer uses the system trust store: a test CA fails."""
    lis = socks(nn.PAIR)
    lis.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx)
    url = ws_url("/tls").replace("ws://", "wss://")
    lis.bind(url)
    dia = socks(nn.PAIR)
    dia.connect(url)
    wait_until(lambda: dia.get_statistic(nn.STAT_CONNECT_ERRORS) >= 2,
               what="failed wss attempts")
    assert not dia.pipes


def test_wss_plain_client_on_tls_listener(socks: Socks, ws_url: Url,
                                          server_ctx: ssl.SSLContext) -> None:
    lis = socks(nn.PAIR)
    lis.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx)
    url = ws_url("/tls")
    lis.bind(url.replace("ws://", "wss://"))
    plain = socks(nn.PAIR)
    plain.connect(url)                 # ws:// to a wss:// listener: TLS fails
    wait_until(lambda: plain.get_statistic(nn.STAT_CONNECT_ERRORS) >= 2,
               what="failed attempts")
    assert not lis.pipes


# -- frames, as a plain WebSocket client sees them -----------------------------

class RawClient:
    """A blocking wsproto client: what a browser or any WebSocket library sends."""

    def __init__(self, port: int, path: str, proto: str) -> None:
        from wsproto import ConnectionType, WSConnection
        from wsproto.events import AcceptConnection, Request
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.sock.sendall(self.ws.send(Request(host="127.0.0.1:%d" % port, target=path,
                                               subprotocols=[proto])))
        ev = self.next_event()
        assert isinstance(ev, AcceptConnection) and ev.subprotocol == proto

    def next_event(self) -> object:
        while True:
            for ev in self.ws.events():
                return ev
            data = self.sock.recv(65536)
            self.ws.receive_data(data or None)

    def send(self, event: object) -> None:
        self.sock.sendall(self.ws.send(event))  # type: ignore[arg-type]


def test_frames_seen_by_a_plain_websocket_client(socks: Socks, ws_url: Url) -> None:
    from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
    s, url, port = _serving(socks, ws_url, nn.PAIR)
    c = RawClient(port, "/svc", "pair.sp.nanomsg.org")
    with c.sock:
        c.send(Ping(payload=b"are you there"))
        assert c.next_event() == Pong(payload=b"are you there")
        c.send(BytesMessage(data=b"frag", message_finished=False))     # fragmented
        c.send(BytesMessage(data=b"mented", message_finished=True))
        assert s.recv() == b"fragmented"
        c.send(TextMessage(data="t\u00e9xt"))                          # text: its UTF-8
        assert s.recv() == "t\u00e9xt".encode()
        s.send(b"\x00\xffbinary")
        ev = c.next_event()
        assert isinstance(ev, BytesMessage) and ev.data == b"\x00\xffbinary"
        assert ev.message_finished
        s.pipes[0].close()                      # closing the pipe sends a close frame
        ev = c.next_event()
        assert isinstance(ev, CloseConnection) and ev.code == 1000


def test_peer_close_frame_ends_the_pipe_cleanly(socks: Socks, ws_url: Url) -> None:
    from wsproto.events import CloseConnection
    s, url, port = _serving(socks, ws_url, nn.PAIR)
    c = RawClient(port, "/svc", "pair.sp.nanomsg.org")
    with c.sock:
        wait_pipes(s, 1)
        c.send(CloseConnection(code=1000))
        ev = c.next_event()
        assert isinstance(ev, CloseConnection)      # answered
        wait_until(lambda: not s.pipes, what="the pipe to go")
    _still_serves(s, url, socks)


def test_dialer_to_a_path_not_served(socks: Socks, ws_url: Url) -> None:
    s, url, port = _serving(socks, ws_url, nn.PAIR, path="/here")
    d = socks(nn.PAIR)
    d.connect(url.replace("/here", "/elsewhere"))        # 404: the dialer retries
    wait_until(lambda: d.get_statistic(nn.STAT_CONNECT_ERRORS) >= 2, what="404s")
    assert not d.pipes and not s.pipes


def test_raw_rep_carries_the_backtrace(socks: Socks, ws_url: Url) -> None:
    rep, req = socks(nn.REP, nn.AF_SP_RAW), socks(nn.REQ)
    url = ws_url("/raw")
    rep.bind(url)
    req.connect(url)
    req.send(b"q")
    m = rep.recv_msg()
    # the pipe id the raw REP pushed, then REQ's request id (top bit set)
    assert m.body == b"q" and len(m.header) == 8 and m.header[4] & 0x80
    rep.send_msg(nn.Message(b"a", header=m.header))
    assert req.recv() == b"a"


def test_dialer_reconnects_after_listener_restarts(socks: Socks, ws_url: Url) -> None:
    a, b = socks(nn.PAIR), socks(nn.PAIR)
    url = ws_url("/again")
    eid = a.bind(url)
    b.connect(url)
    b.send(b"one")
    assert a.recv() == b"one"
    a.shutdown(eid)
    for p in list(a.pipes):
        p.close()
    wait_until(lambda: not b.pipes, what="the dialer to see the close")
    a2 = socks(nn.PAIR)
    a2.bind(url)
    b.send(b"two")
    assert a2.recv() == b"two"
