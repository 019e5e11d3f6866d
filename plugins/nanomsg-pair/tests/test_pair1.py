"""PAIR v1 sockets over inproc, ipc and tcp: traffic, raw headers, MAXTTL,
exclusivity, peers of the wrong protocol, garbage, a device counting its hop."""

from __future__ import annotations

import errno
import socket
import struct
import threading
from collections.abc import Iterator

import pytest

import nanomsg_core as nn
from nanomsg_pair import Pair1, hop_header
from tests.support import Urls, sock, wait_pipes, wait_until


@pytest.fixture
def socks() -> Iterator[list[nn.Socket]]:
    made: list[nn.Socket] = []
    yield made
    for s in made:
        s.close()


def new(socks: list[nn.Socket], domain: int = nn.AF_SP, proto: int = nn.PAIR1) -> nn.Socket:
    s = sock(proto, domain)
    s.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
    socks.append(s)
    return s


def joined(socks: list[nn.Socket], url: str, a_domain: int = nn.AF_SP,
           b_domain: int = nn.AF_SP) -> tuple[nn.Socket, nn.Socket]:
    a, b = new(socks, a_domain), new(socks, b_domain)
    a.bind(url)
    b.connect(url)
    wait_pipes(a, 1)
    wait_pipes(b, 1)
    return a, b


def test_registered_by_number_and_name() -> None:
    reg = nn.get_registry()
    info = reg.protocol("pair1")
    assert info.number == nn.PAIR1 == 17 and info.peer == nn.PAIR1
    assert info.factory is Pair1 and info.distribution == "nanomsg-pair"
    with nn.Socket(nn.AF_SP, "PAIR1") as s:
        assert s.protocol == nn.PAIR1


def test_both_directions(new_url: Urls, socks: list[nn.Socket]) -> None:
    url = new_url()
    a, b = joined(socks, url)
    assert b.send(b"ping") == 4
    msg = a.recv_msg()
    assert msg.body == b"ping" and msg.header == b""
    assert msg.pipe is not None and msg.pipe.transport == new_url.transport
    a.send(bytearray(b"pong"))
    assert b.recv() == b"pong"
    a.send(b"")
    assert b.recv() == b""
    big = bytes(range(256)) * 2048      # the hop count counts toward RCVMAXSIZE too
    b.send(big)
    assert a.recv() == big


def test_ordered_stream(new_url: Urls, socks: list[nn.Socket]) -> None:
    a, b = joined(socks, new_url())
    n = 2000

    def sender() -> None:
        for i in range(n):
            b.send(b"%d" % i)
    th = threading.Thread(target=sender)
    th.start()
    assert [a.recv() for _ in range(n)] == [b"%d" % i for i in range(n)]
    th.join(10)


def test_raw_sees_and_sets_the_hop_count(new_url: Urls, socks: list[nn.Socket]) -> None:
    cooked, raw = joined(socks, new_url(), nn.AF_SP, nn.AF_SP_RAW)
    cooked.send(b"fresh")
    msg = raw.recv_msg()
    assert msg.header == hop_header(1) and msg.body == b"fresh"
    raw.send_msg(nn.Message(b"relayed", header=hop_header(3)))
    msg = cooked.recv_msg()
    assert msg.body == b"relayed" and msg.header == b""


def test_raw_send_needs_a_good_header(inproc_url: str, socks: list[nn.Socket]) -> None:
    _, raw = joined(socks, inproc_url, nn.AF_SP, nn.AF_SP_RAW)
    for header in (b"", b"\x00\x01", hop_header(255), b"\x00\x00\x01\x00"):
        with pytest.raises(nn.NanomsgError) as ei:
            raw.send_msg(nn.Message(b"x", header=header))
        assert ei.value.errno == errno.EPROTO
    with pytest.raises(nn.NanomsgError) as ei:
        raw.send(b"no header at all")
    assert ei.value.errno == errno.EPROTO and "hop count" in str(ei.value)


def test_maxttl_drops_messages_that_travelled_too_far(new_url: Urls,
                                                      socks: list[nn.Socket]) -> None:
    """MAXTTL 4: a raw header of 3 arrives as 4 hops (kept), 4 arrives as 5 (dropped)."""
    receiver, raw = joined(socks, new_url(), nn.AF_SP_RAW, nn.AF_SP_RAW)
    receiver.setsockopt(nn.SOL_SOCKET, nn.MAXTTL, 4)
    raw.send_msg(nn.Message(b"five hops", header=hop_header(4)))
    raw.send_msg(nn.Message(b"four hops", header=hop_header(3)))
    msg = receiver.recv_msg()
    assert msg.body == b"four hops" and msg.header == hop_header(4)
    receiver.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 200)
    with pytest.raises(nn.NanomsgError) as ei:
        receiver.recv()
    assert ei.value.errno == errno.ETIMEDOUT
    assert len(receiver.pipes) == 1                  # the connection lives on
    receiver.setsockopt(nn.SOL_SOCKET, nn.MAXTTL, 255)
    raw.send_msg(nn.Message(b"too far to relay", header=hop_header(254)))   # 255: dropped
    raw.send_msg(nn.Message(b"far", header=hop_header(253)))
    receiver.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
    assert receiver.recv_msg().header == hop_header(254)


def test_poll_ignores_dropped_messages(inproc_url: str, socks: list[nn.Socket]) -> None:
    receiver, raw = joined(socks, inproc_url, nn.AF_SP, nn.AF_SP_RAW)
    receiver.setsockopt(nn.SOL_SOCKET, nn.MAXTTL, 1)
    raw.send_msg(nn.Message(b"dropped", header=hop_header(1)))
    raw.send_msg(nn.Message(b"kept", header=hop_header(0)))
    wait_until(lambda: nn.poll([(receiver, nn.POLLIN)], 0) == [nn.POLLIN], what="POLLIN")
    assert receiver.recv() == b"kept"
    assert nn.poll([(receiver, nn.POLLIN)], 0) == [0]


def test_exclusive_first_peer_wins(new_url: Urls, socks: list[nn.Socket]) -> None:
    url = new_url()
    a, b = joined(socks, url)
    c = new(socks)
    c.connect(url)
    b.send(b"from b")
    assert a.recv() == b"from b"
    with pytest.raises(nn.NanomsgError) as ei:
        c.send(b"intruder", nn.DONTWAIT)
    assert ei.value.errno == errno.EAGAIN
    assert len(a.pipes) == 1
    b_pipe = a.pipes[0]
    b.close()
    # c's reconnect may race b's hang-up and be refused once (a message sent
    # on a refused connection is lost, as with NNG): wait until a holds c.
    wait_until(lambda: len(a.pipes) == 1 and len(c.pipes) == 1
               and a.pipes[0].id != b_pipe.id, what="a takes c")
    c.send(b"from c")
    assert a.recv() == b"from c"
    a.send(b"to c")
    assert c.recv() == b"to c"


@pytest.mark.parametrize("other", [nn.PAIR, nn.BUS])
def test_other_protocols_are_refused(other: int, wire_url: Urls,
                                     socks: list[nn.Socket]) -> None:
    url = wire_url()
    a = new(socks)
    a.bind(url)
    v0 = new(socks, proto=other)
    v0.connect(url)
    wait_until(lambda: v0.get_statistic(nn.STAT_CONNECT_ERRORS) >= 2, 10,
               "refused handshakes")
    assert a.get_statistic(nn.STAT_CURRENT_CONNECTIONS) == 0
    b = new(socks)
    b.connect(url)
    b.send(b"right peer")
    assert a.recv() == b"right peer"


def _sp_client(port: int) -> socket.socket:
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(b"\x00SP\x00" + struct.pack(">H", nn.PAIR1) + b"\x00\x00")
    got = b""
    while len(got) < 8:
        chunk = c.recv(8 - len(got))
        assert chunk, "closed during the handshake"
        got += chunk
    assert got == b"\x00SP\x00\x00\x11\x00\x00"
    return c


@pytest.mark.parametrize("garbage", [b"\x00\x01", struct.pack(">I", 0x100) + b"x"])
def test_a_peer_sending_garbage_loses_only_its_connection(garbage: bytes,
                                                          socks: list[nn.Socket]) -> None:
    a = new(socks)
    port = int(a.endpoint_address(a.bind("tcp://127.0.0.1:0")).rsplit(":", 1)[1])
    c = _sp_client(port)
    try:
        frame = hop_header(1) + b"good"
        c.sendall(struct.pack(">Q", len(frame)) + frame)
        assert a.recv() == b"good"
        c.sendall(struct.pack(">Q", len(garbage)) + garbage)
        a.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 300)
        with pytest.raises(nn.NanomsgError):       # nothing for the application
            a.recv()
        assert c.recv(100) == b""                  # and the connection is closed
    finally:
        c.close()
    a.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
    wait_until(lambda: not a.pipes, what="the garbage pipe to go")
    b = new(socks)
    b.connect("tcp://127.0.0.1:%d" % port)
    b.send(b"still alive")
    assert a.recv() == b"still alive"


def test_device_counts_its_hop(socks: list[nn.Socket], inproc_url: str) -> None:
    """cooked -> [raw | device | raw] -> raw observer: two hops on arrival."""
    front, back = inproc_url + "-front", inproc_url + "-back"
    x, y = new(socks, nn.AF_SP_RAW), new(socks, nn.AF_SP_RAW)
    x.bind(front)
    y.bind(back)
    errors: list[nn.NanomsgError] = []

    def run() -> None:
        try:
            nn.device(x, y)
        except nn.NanomsgError as e:
            errors.append(e)
    th = threading.Thread(target=run, daemon=True)
    th.start()
    origin, observer = new(socks), new(socks, nn.AF_SP_RAW)
    origin.connect(front)
    observer.connect(back)
    origin.send(b"through")
    msg = observer.recv_msg()
    assert msg.body == b"through" and msg.header == hop_header(2)
    observer.send_msg(nn.Message(b"back", header=msg.header))
    assert origin.recv() == b"back"
    x.close()
    th.join(5)
    assert not th.is_alive() and errors and errors[0].errno == errno.EBADF
