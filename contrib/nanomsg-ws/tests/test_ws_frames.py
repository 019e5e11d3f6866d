"""The ws codec (nanomsg_ws._frames) against wsproto's frame code, both roles,
with no network: sizes on every length-encoding edge, reads split anywhere,
fragments, pings, closes, violations and RCVMAXSIZE."""

from __future__ import annotations

import errno
import os
import random

import pytest
import wsproto
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

from nanomsg_core.wire import WireError
from nanomsg_ws import WsCodec, WsDecoder

SIZES = [0, 1, 125, 126, 127, 65535, 65536, 70000, 300000]


def peer_of(client: bool) -> wsproto.connection.Connection:
    """wsproto's side facing a codec of that role (no handshake needed)."""
    return wsproto.connection.Connection(wsproto.ConnectionType.SERVER if client
                                         else wsproto.ConnectionType.CLIENT)


def read_in_pieces(dec: WsDecoder, data: bytes, rng: random.Random) -> list[bytes]:
    out: list[bytes] = []
    i = 0
    while i < len(data) and not dec.ended:
        w = dec.recv_buffer()
        k = min(len(w), rng.choice([1, 7, 1000, 70000, 1 << 20]), len(data) - i)
        w[:k] = data[i:i + k]
        i += k
        out.extend(dec.commit(k))
    return out


@pytest.mark.timeout(60)
@pytest.mark.parametrize("client", [True, False])
def test_round_trip_with_wsproto(client: bool) -> None:
    rng = random.Random(7)
    codec = WsCodec(client)
    peer = peer_of(client)
    msgs = [os.urandom(rng.choice(SIZES)) for _ in range(60)]
    sent = b"".join(b"".join(bytes(b) for b in codec.encode(b"", m)) for m in msgs)
    if client:      # masked, with a fresh key each frame
        assert sent[1] & 0x80
    peer.receive_data(sent)
    assert [ev.data for ev in peer.events()] == msgs
    dec = codec.decoder(-1, 256 * 1024)
    data = b"".join(peer.send(BytesMessage(data=m)) for m in msgs)
    data += peer.send(BytesMessage(data=b"frag", message_finished=False))
    data += peer.send(BytesMessage(data=b"mented"))
    data += peer.send(TextMessage(data="t\u00e9xt")) + peer.send(Ping(payload=b"hi"))
    assert read_in_pieces(dec, data, rng) == msgs + [b"fragmented", "t\u00e9xt".encode()]
    [pong] = dec.replies()
    peer.receive_data(pong)
    assert list(peer.events()) == [Pong(payload=b"hi")]
    assert dec.pending == 0


def test_header_and_body_make_one_message() -> None:
    peer = peer_of(True)
    peer.receive_data(b"".join(bytes(b) for b in WsCodec(True).encode(b"\x00\x00\x00\x01",
                                                                     b"body")))
    assert [ev.data for ev in peer.events()] == [b"\x00\x00\x00\x01body"]


def test_fresh_mask_per_frame() -> None:
    codec = WsCodec(True)
    heads = {bytes(codec.encode(b"", b"x")[0])[2:6] for _ in range(50)}
    assert len(heads) > 45


@pytest.mark.parametrize("code,error", [(1000, None), (1001, None), (1011, errno.ECONNRESET)])
def test_close_frame_is_answered_and_ends(code: int, error: int) -> None:
    peer = peer_of(False)
    dec = WsCodec(False).decoder(-1, 4096)
    data = peer.send(BytesMessage(data=b"last")) + peer.send(CloseConnection(code=code))
    assert read_in_pieces(dec, data + b"ignored", random.Random(1)) == [b"last"]
    assert dec.ended
    assert (dec.end_error.errno if dec.end_error else None) == error
    [reply] = dec.replies()
    peer.receive_data(reply)
    ev = next(peer.events())
    assert isinstance(ev, CloseConnection) and ev.code == code


@pytest.mark.parametrize("frame,what", [
    (b"\xc2\x80abcd", "reserved bits"),          # RSV1 without an extension
    (b"\x82\x01x", "not masked"),                # a client frame must be masked
    (b"\x89\xfe\x00\x7eabcd", "control frame"),  # a ping above 125 bytes
    (b"\x80\x80abcd", "frame sequence"),          # a continuation with nothing begun
    (b"\x83\x80abcd", "frame sequence"),          # a reserved opcode
])
def test_violation_queues_close_1002_and_raises(frame: bytes, what: str) -> None:
    dec = WsCodec(False).decoder(-1, 4096)
    with pytest.raises(WireError, match=what) as e:
        read_in_pieces(dec, frame + b"\x00" * 200, random.Random(2))
    assert e.value.errno == errno.EPROTO
    [reply] = dec.replies()
    assert reply == b"\x88\x02\x03\xea"           # close 1002, unmasked from a server


def test_message_above_rcvmaxsize_closes_1009_before_its_bytes() -> None:
    peer = peer_of(False)
    dec = WsCodec(False).decoder(1000, 4096)
    assert read_in_pieces(dec, peer.send(BytesMessage(data=b"y" * 1000)),
                          random.Random(3)) == [b"y" * 1000]
    frag = peer.send(BytesMessage(data=b"a" * 600, message_finished=False))
    frag += peer.send(BytesMessage(data=b"b" * 600))
    with pytest.raises(WireError) as e:
        read_in_pieces(dec, frag, random.Random(4))
    assert e.value.errno == errno.EMSGSIZE
    assert dec.replies() == [b"\x88\x02\x03\xf1"]  # 1009


def test_huge_announced_length_allocates_by_arrival() -> None:
    """A frame announcing 2**40 bytes costs what has arrived, not what it announces."""
    dec = WsCodec(True).decoder(-1, 256 * 1024)
    head = b"\x82\x7f" + (1 << 40).to_bytes(8, "big")
    w = dec.recv_buffer()
    w[:len(head) + 10] = head + b"x" * 10
    assert dec.commit(len(head) + 10) == []
    assert len(dec.recv_buffer()) <= 64 * 1024
    assert dec.pending >= 10


def test_buffer_starts_small_grows_and_shrinks() -> None:
    peer = peer_of(False)
    dec = WsCodec(False).decoder(-1, 256 * 1024)
    assert len(dec.recv_buffer()) == 4096 and not dec.grown
    burst = b"".join(peer.send(BytesMessage(data=b"m" * 100)) for _ in range(20000))
    assert len(read_in_pieces(dec, burst, random.Random(5))) == 20000
    assert dec.grown
    for _ in range(8):
        small = peer.send(BytesMessage(data=b"s"))
        w = dec.recv_buffer()
        w[:len(small)] = small
        assert dec.commit(len(small)) == [b"s"]
    assert not dec.grown
