"""``connect(url, block=True)``: returns with the first connection up, or
raises the first attempt's error and leaves no endpoint."""

from __future__ import annotations

import errno
import socket
import ssl
import threading
import time
from collections.abc import Iterator

import pytest
import trustme

import nanomsg_core as nn

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def pair() -> Iterator[nn.Socket]:
    s = nn.Socket(nn.AF_SP, nn.PAIR)
    s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
    s.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
    yield s
    s.close()


def _refused(s: nn.Socket, url: str) -> tuple[nn.NanomsgError, float]:
    t0 = time.perf_counter()
    with pytest.raises(nn.NanomsgError) as ei:
        s.connect(url, block=True)
    return ei.value, time.perf_counter() - t0


def test_nobody_on_tcp_is_refused_at_once(pair: nn.Socket, free_port: int) -> None:
    err, took = _refused(pair, "tcp://127.0.0.1:%d" % free_port)
    assert err.errno == errno.ECONNREFUSED, err
    assert took < 0.5, took
    assert pair.endpoints == {}
    assert pair.get_statistic(nn.STAT_INPROGRESS_CONNECTIONS) == 0


def test_nobody_on_ipc_is_refused(pair: nn.Socket, ipc_url: str) -> None:
    err, took = _refused(pair, ipc_url)
    assert err.errno == errno.ECONNREFUSED, err
    assert took < 0.5, took
    assert pair.endpoints == {}


def test_stale_ipc_file_is_refused(pair: nn.Socket, ipc_url: str) -> None:
    path = ipc_url[len("ipc://"):]
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(path)                      # a socket file nobody listens on
    err, _ = _refused(pair, ipc_url)
    assert err.errno == errno.ECONNREFUSED, err


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_returns_with_the_pipe_attached(transport: str, pair: nn.Socket,
                                        request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("%s_url" % transport)
    with nn.Socket(nn.AF_SP, nn.PAIR) as peer:
        peer.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
        peer.bind(url)
        eid = pair.connect(url, block=True)
        assert pair.endpoints == {eid: url}
        assert len(pair.pipes) == 1
        pair.send(b"no wait", nn.DONTWAIT)   # the protocol has the pipe already
        assert peer.recv() == b"no wait"


def test_reconnects_afterwards(pair: nn.Socket, tcp_url: str) -> None:
    peer = nn.Socket(nn.AF_SP, nn.PAIR)
    peer.bind(tcp_url)
    pair.connect(tcp_url, block=True)
    peer.close()
    deadline = time.monotonic() + 20
    while pair.pipes and time.monotonic() < deadline:
        time.sleep(0.01)
    with nn.Socket(nn.AF_SP, nn.PAIR) as again:
        again.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
        again.bind(tcp_url)
        pair.send(b"after the restart")     # blocks until the endpoint redials
        assert again.recv() == b"after the restart"


def test_silent_server_times_out_after_sndtimeo(pair: nn.Socket) -> None:
    with socket.socket() as mute:            # accepts TCP, never says the SP header
        mute.bind(("127.0.0.1", 0))
        mute.listen(4)
        pair.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 200)
        err, took = _refused(pair, "tcp://127.0.0.1:%d" % mute.getsockname()[1])
    assert err.errno == errno.ETIMEDOUT, err
    assert "SNDTIMEO" in str(err)
    assert 0.15 < took < 0.9, took
    assert pair.endpoints == {}


def test_wrong_protocol_is_eproto(pair: nn.Socket, tcp_url: str) -> None:
    with nn.Socket(nn.AF_SP, nn.PUB) as pub:
        pub.bind(tcp_url)
        pair.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 5000)
        err, _ = _refused(pair, tcp_url)
    assert err.errno == errno.EPROTO, err
    assert pair.endpoints == {}


def test_close_from_another_thread_interrupts(pair: nn.Socket) -> None:
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(4)
        threading.Timer(0.2, pair.close).start()
        err, took = _refused(pair, "tcp://127.0.0.1:%d" % mute.getsockname()[1])
    assert err.errno in (errno.EBADF, errno.ETIMEDOUT), err   # whichever comes first
    assert took < 5


def test_untrusted_tls_server_says_why(pair: nn.Socket) -> None:
    ca, other = trustme.CA(), trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    other.configure_trust(client_ctx)        # trusts another CA only
    with nn.Socket(nn.AF_SP, nn.PAIR) as server:
        server.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx)
        eid = server.bind("tls+tcp://127.0.0.1:0")
        port = server.endpoint_address(eid).rsplit(":", 1)[1]
        pair.setsockopt(nn.TLS, nn.TLS_CONFIG, client_ctx)
        pair.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 10000)
        err, took = _refused(pair, "tls+tcp://localhost:%s" % port)
    assert err.errno in (errno.ECONNREFUSED, errno.EPROTO), err
    assert "certificate" in str(err).lower(), err
    assert pair.endpoints == {}


def test_tls_and_ws_connect_blocking(pair: nn.Socket) -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    for scheme in ("tls+tcp", "ws", "wss"):
        with nn.Socket(nn.AF_SP, nn.PAIR) as server, nn.Socket(nn.AF_SP, nn.PAIR) as c:
            server.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
            server.setsockopt(nn.TLS, nn.TLS_CONFIG, server_ctx)
            c.setsockopt(nn.TLS, nn.TLS_CONFIG, client_ctx)
            eid = server.bind("%s://127.0.0.1:0" % scheme)
            port = server.endpoint_address(eid).rsplit(":", 1)[1].split("/")[0]
            c.connect("%s://localhost:%s" % (scheme, port), block=True)
            c.send(b"up over " + scheme.encode(), nn.DONTWAIT)
            assert server.recv() == b"up over " + scheme.encode()


def test_default_is_nonblocking(pair: nn.Socket, free_port: int) -> None:
    eid = pair.connect("tcp://127.0.0.1:%d" % free_port)
    assert eid in pair.endpoints
    eid2 = pair.connect("tcp://127.0.0.1:%d" % free_port, block=False)
    assert eid2 in pair.endpoints


def test_inproc_waits_for_the_bind(pair: nn.Socket, inproc_url: str) -> None:
    """inproc keeps nanomsg's rule (a dial waits for the bind): a blocking
    connect returns when the name is bound, or fails after SNDTIMEO."""
    pair.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 150)
    err, took = _refused(pair, inproc_url)
    assert err.errno == errno.ETIMEDOUT, err
    assert pair.endpoints == {}
    pair.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 20000)
    with nn.Socket(nn.AF_SP, nn.PAIR) as late:
        late.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
        threading.Timer(0.2, late.bind, args=(inproc_url,)).start()
        pair.connect(inproc_url, block=True)
        pair.send(b"bound at last", nn.DONTWAIT)
        assert late.recv() == b"bound at last"


def test_term_interrupts_a_blocking_connect() -> None:
    import subprocess
    import sys
    code = (
        "import threading, nanomsg_core as nn\n"
        "s = nn.Socket(nn.AF_SP, nn.PAIR)\n"
        "threading.Timer(0.3, nn.term).start()\n"
        "try:\n"
        "    s.connect('inproc://nobody-binds-this', block=True)\n"   # waits forever
        "except nn.NanomsgError as e:\n"
        "    print(e.errno == nn.ETERM)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert out.stdout.strip() == b"True", out
