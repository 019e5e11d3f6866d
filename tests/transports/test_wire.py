"""Sans-IO tests of nanomsg_core.wire: header, framing, incremental decoding."""

from __future__ import annotations

import errno
import struct

import pytest

from nanomsg_core.wire import (COPY_WINDOW, IPC_FRAMING, SMALL_FRAME, TCP_FRAMING, FrameDecoder,
                               WireError, encode_frame, encode_header, parse_header)


def test_header_bytes() -> None:
    assert encode_header(16) == b"\x00SP\x00\x00\x10\x00\x00"
    assert encode_header(0x70) == bytes([0, 0x53, 0x50, 0, 0, 0x70, 0, 0])
    assert parse_header(encode_header(49)) == 49


@pytest.mark.parametrize("raw,why", [
    (b"HTTP/1.1", "not an SP peer"),
    (b"\x00SP\x01\x00\x10\x00\x00", "version"),
    (b"\x00SP\x00\x00\x10\x00\x01", "reserved"),
    (b"\x00SP\x00\x00\x10\x01\x00", "reserved"),
    (b"\x00SP\x00\x00\x10", "8 bytes"),
])
def test_bad_headers(raw: bytes, why: str) -> None:
    with pytest.raises(WireError, match=why) as ei:
        parse_header(raw)
    assert ei.value.errno == errno.EPROTO


def test_encode_header_range() -> None:
    with pytest.raises(ValueError):
        encode_header(0x10000)


def test_frame_encoding() -> None:
    assert encode_frame(TCP_FRAMING, b"abc") == b"\x00" * 7 + b"\x03abc"
    assert encode_frame(IPC_FRAMING, b"abc") == b"\x01" + b"\x00" * 7 + b"\x03abc"
    assert encode_frame(TCP_FRAMING, b"") == b"\x00" * 8


@pytest.mark.parametrize("framing", [TCP_FRAMING, IPC_FRAMING], ids=["tcp", "ipc"])
def test_decode_byte_by_byte(framing: object) -> None:
    payloads = [b"", b"a", b"hello" * 100, bytes(range(256))]
    stream = b"".join(encode_frame(framing, p) for p in payloads)  # type: ignore[arg-type]
    dec = FrameDecoder(framing, -1, buffer_size=64)  # type: ignore[arg-type]
    out: list[bytes] = []
    for i in range(len(stream)):
        out += dec.feed(stream[i:i + 1])
    assert out == payloads
    assert dec.pending == 0


@pytest.mark.parametrize("framing", [TCP_FRAMING, IPC_FRAMING], ids=["tcp", "ipc"])
def test_decode_many_per_read_and_big_frames(framing: object) -> None:
    payloads = [bytes([i % 251]) * (i * 37 % 3000) for i in range(300)]
    stream = b"".join(encode_frame(framing, p) for p in payloads)  # type: ignore[arg-type]
    dec = FrameDecoder(framing, -1, buffer_size=1024)  # type: ignore[arg-type]
    out: list[bytes] = []
    for i in range(0, len(stream), 777):
        out += dec.feed(stream[i:i + 777])
    assert out == payloads


@pytest.mark.parametrize("framing", [TCP_FRAMING, IPC_FRAMING], ids=["tcp", "ipc"])
@pytest.mark.parametrize("read", [1, 100, COPY_WINDOW - 3, COPY_WINDOW + 5, 1 << 20])
def test_small_payloads_cut_from_a_copy_at_every_boundary(framing: object, read: int) -> None:
    """Small payloads come from a bounded bytes copy of the buffer: sizes on
    both sides of SMALL_FRAME, runs that end exactly at, just before and
    just after a copy's end, and big frames between, each whole, in order,
    as bytes of their own, however the reads cut the stream."""
    sizes = [0, 1, SMALL_FRAME - 1, SMALL_FRAME, SMALL_FRAME + 1, 64, 64, 3000,
             SMALL_FRAME, 0, 70_000, 5]
    sizes += [64] * (3 * COPY_WINDOW // 72)         # runs across several copies
    sizes += [SMALL_FRAME] * 40 + [SMALL_FRAME + 1] * 3 + [2] * 100
    payloads = [bytes([i % 251]) * n for i, n in enumerate(sizes)]
    stream = b"".join(encode_frame(framing, p) for p in payloads)  # type: ignore[arg-type]
    dec = FrameDecoder(framing)  # type: ignore[arg-type]
    out: list[bytes] = []
    for i in range(0, len(stream), read):
        out += dec.feed(stream[i:i + read])
    assert out == payloads
    assert all(type(p) is bytes for p in out)
    assert dec.pending == 0


def test_recv_buffer_commit_protocol() -> None:
    dec = FrameDecoder(TCP_FRAMING, -1, buffer_size=128)
    data = encode_frame(TCP_FRAMING, b"x" * 1000) + encode_frame(TCP_FRAMING, b"yz")
    out: list[bytes] = []
    while data:
        view = dec.recv_buffer()
        assert len(view) > 0
        k = min(len(view), len(data))
        view[:k] = data[:k]
        data = data[k:]
        out += dec.commit(k)
    assert out == [b"x" * 1000, b"yz"]


def test_grown_follows_the_buffers() -> None:
    """``grown`` is kept as the buffers change: a filling read doubles the
    small-frame buffer, a big frame holds chunks, ``trim`` undoes both."""
    dec = FrameDecoder(TCP_FRAMING, -1, buffer_size=4096, min_buffer=64)
    assert not dec.grown
    assert dec.feed(encode_frame(TCP_FRAMING, b"a" * 40)) == [b"a" * 40]
    assert not dec.grown                    # one whole frame, the buffer as it was
    assert dec.feed(encode_frame(TCP_FRAMING, b"b" * 200)) == [b"b" * 200]
    assert dec.grown                        # reads filled it: doubled
    assert dec.trim() and not dec.grown
    big = encode_frame(TCP_FRAMING, b"c" * 10_000)
    assert dec.feed(big[:5000]) == []
    assert dec.grown                        # a big frame's chunk
    assert dec.feed(big[5000:]) == [b"c" * 10_000]
    dec.trim()
    assert not dec.grown


def test_rcvmaxsize() -> None:
    dec = FrameDecoder(TCP_FRAMING, 10)
    assert dec.feed(encode_frame(TCP_FRAMING, b"0123456789")) == [b"0123456789"]
    with pytest.raises(WireError) as ei:
        dec.feed(encode_frame(TCP_FRAMING, b"0123456789A"))
    assert ei.value.errno == errno.EMSGSIZE


@pytest.mark.parametrize("max_size", [-1, 1 << 20])
def test_length_2_to_63(max_size: int) -> None:
    dec = FrameDecoder(TCP_FRAMING, max_size)
    with pytest.raises(WireError) as ei:
        dec.feed(struct.pack(">Q", 1 << 63))
    assert ei.value.errno == errno.EMSGSIZE


def test_ipc_bad_type() -> None:
    dec = FrameDecoder(IPC_FRAMING)
    with pytest.raises(WireError, match="type"):
        dec.feed(b"\x02" + struct.pack(">Q", 1) + b"x")


def test_ipc_bad_type_amid_small_frames_of_one_read() -> None:
    """A run of small frames stops at a frame of an unknown type: refused,
    not taken as a payload (the run loop checks every frame's type)."""
    good = encode_frame(IPC_FRAMING, b"ab") * 5
    dec = FrameDecoder(IPC_FRAMING)
    with pytest.raises(WireError, match="type 0x02") as ei:
        dec.feed(good + b"\x02" + struct.pack(">Q", 2) + b"cd" + good)
    assert ei.value.errno == errno.EPROTO


def test_rcvmaxsize_below_small_frame_amid_small_frames_of_one_read() -> None:
    """``RCVMAXSIZE`` under :data:`SMALL_FRAME`: a frame over it in a run of
    small ones is refused."""
    for framing in (TCP_FRAMING, IPC_FRAMING):
        dec = FrameDecoder(framing, 10)
        ok = encode_frame(framing, b"0123456789") * 3
        assert dec.feed(ok) == [b"0123456789"] * 3
        with pytest.raises(WireError) as ei:
            dec.feed(ok + encode_frame(framing, b"0123456789A") + ok)
        assert ei.value.errno == errno.EMSGSIZE


def test_pending_reports_truncation() -> None:
    dec = FrameDecoder(TCP_FRAMING)
    assert dec.feed(encode_frame(TCP_FRAMING, b"abcdef")[:10]) == []
    assert dec.pending > 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("framing", [TCP_FRAMING, IPC_FRAMING], ids=["tcp", "ipc"])
def test_any_cut_of_any_stream_decodes_to_its_payloads(framing: object) -> None:
    """Whatever the payload sizes and however the reads cut the stream
    (one whole frame per read -- the decoder's shortcut --, a frame and a
    piece, many frames, single bytes), every payload comes out whole, in
    order, as bytes; and a frame over RCVMAXSIZE raises EMSGSIZE wherever
    it starts."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(sizes=st.lists(st.sampled_from([0, 1, 7, 64, SMALL_FRAME, SMALL_FRAME + 1, 3000,
                                            70_000]) | st.integers(0, 600),
                          min_size=1, max_size=30),
           cuts=st.lists(st.integers(1, 5000), min_size=1, max_size=40),
           whole=st.booleans(), buffer_size=st.sampled_from([64, 1024, 256 * 1024]))
    def check(sizes: list[int], cuts: list[int], whole: bool, buffer_size: int) -> None:
        payloads = [bytes([i % 251]) * n for i, n in enumerate(sizes)]
        frames = [encode_frame(framing, p) for p in payloads]  # type: ignore[arg-type]
        stream = b"".join(frames)
        dec = FrameDecoder(framing, -1, buffer_size=buffer_size)  # type: ignore[arg-type]
        out: list[bytes] = []
        if whole:
            reads = frames
        else:
            reads, at, i = [], 0, 0
            while at < len(stream):
                reads.append(stream[at:at + cuts[i % len(cuts)]])
                at += cuts[i % len(cuts)]
                i += 1
        for chunk in reads:
            while chunk:                # as a transport does: at most the window
                view = dec.recv_buffer()
                k = min(len(view), len(chunk))
                view[:k] = chunk[:k]
                chunk = chunk[k:]
                out += dec.commit(k)
                # the kept flag says what the buffers are (trimming reads it per read)
                assert dec.grown == (dec._size > dec._min or dec._cur is not None)
        assert out == payloads
        assert all(type(p) is bytes for p in out)
        assert dec.pending == 0
        limit = max(sizes)
        if limit > 0:                   # the biggest frame now breaks RCVMAXSIZE
            strict = FrameDecoder(framing, limit - 1)  # type: ignore[arg-type]
            with pytest.raises(WireError) as ei:
                for chunk in reads:
                    strict.feed(chunk)
            assert ei.value.errno == errno.EMSGSIZE

    check()
