"""Property-based tests (hypothesis): every wire decoder against its encoder
under arbitrary chunking and hostile input, and the REQ/REP state machines
against a simple model (in memory, manual clock)."""

from __future__ import annotations

import errno
import struct
from typing import Optional

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from nanomsg_core import EFSM, REQ_RESEND_IVL, Message, NanomsgError
from nanomsg_core.testing import ManualHost, link
from nanomsg_core.wire import (FIRST_CHUNK, HEADER_SIZE, IPC_FRAMING, SP_MAGIC, TCP_FRAMING,
                               FrameDecoder, Framing, WireError, encode_frame, encode_header,
                               parse_header)
from nanomsg_reqrep import Rep, Req

pytestmark = pytest.mark.timeout(60)
FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

framings = st.sampled_from([TCP_FRAMING, IPC_FRAMING])
payloads = st.lists(st.one_of(st.binary(max_size=300),
                              st.integers(0, 200_000).map(lambda n: b"\xa5" * n)),
                    max_size=12)


# -- the connection header ---------------------------------------------------------

@given(st.integers(0, 0xFFFF))
def test_header_round_trip(proto: int) -> None:
    h = encode_header(proto)
    assert len(h) == HEADER_SIZE and h[:4] == SP_MAGIC
    assert parse_header(h) == proto
    assert parse_header(bytearray(h)) == proto == parse_header(memoryview(h))


@given(st.binary(max_size=16))
def test_header_parse_accepts_exactly_the_valid_ones(data: bytes) -> None:
    valid = len(data) == 8 and data[:4] == SP_MAGIC and data[6:] == b"\x00\x00"
    if valid:
        assert parse_header(data) == struct.unpack(">H", data[4:6])[0]
    else:
        with pytest.raises(WireError) as ei:
            parse_header(data)
        assert ei.value.errno == errno.EPROTO


@given(st.integers().filter(lambda n: not 0 <= n <= 0xFFFF))
def test_header_encode_rejects_what_does_not_fit(proto: int) -> None:
    with pytest.raises(ValueError):
        encode_header(proto)


# -- frames ----------------------------------------------------------------------

def _decode(framing: Framing, stream: bytes, cuts: list[int], buffer_size: int,
            min_buffer: int) -> tuple[list[bytes], FrameDecoder]:
    """Drive a decoder the way a transport does: read at most the window,
    with read sizes taken from *cuts* in turn."""
    dec = FrameDecoder(framing, -1, buffer_size, min_buffer)
    out: list[bytes] = []
    i = k = 0
    while i < len(stream):
        window = dec.recv_buffer()
        assert len(window) > 0
        want = cuts[k % len(cuts)] if cuts else len(window)
        k += 1
        n = min(len(window), max(1, want), len(stream) - i)
        window[:n] = stream[i:i + n]
        i += n
        out += dec.commit(n)
    return out, dec


@FAST
@given(framings, payloads, st.lists(st.integers(1, 300_000), max_size=20),
       st.integers(64, 300_000), st.integers(64, 70_000))
def test_any_chunking_decodes_like_one_shot(framing: Framing, ps: list[bytes], cuts: list[int],
                                             buffer_size: int, min_buffer: int) -> None:
    stream = b"".join(encode_frame(framing, p) for p in ps)
    one_shot = FrameDecoder(framing).feed(stream)
    out, dec = _decode(framing, stream, cuts, buffer_size, min_buffer)
    assert out == one_shot == ps
    assert dec.pending == 0
    assert dec.buffer_size <= max(buffer_size, 64)       # idle again: no frame chunks


@FAST
@given(framings, payloads, st.integers(0, 10**6))
def test_a_truncated_stream_is_reported_pending(framing: Framing, ps: list[bytes],
                                                 cut_seed: int) -> None:
    stream = b"".join(encode_frame(framing, p) for p in ps)
    assume(stream)
    cut = cut_seed % len(stream)
    dec = FrameDecoder(framing)
    got = dec.feed(stream[:cut])
    assert got == ps[:len(got)]
    boundaries = {0}
    pos = 0
    for p in ps:
        pos += framing.prefix_size + len(p)
        boundaries.add(pos)
    assert (dec.pending == 0) == (cut in boundaries)


@FAST
@given(framings, st.integers(FIRST_CHUNK, 1 << 62), st.binary(max_size=5000))
def test_announced_length_alone_allocates_little(framing: Framing, length: int,
                                                  head: bytes) -> None:
    """A peer announcing a huge frame costs what it sent plus one first chunk."""
    dec = FrameDecoder(framing, -1)
    assert dec.feed(framing.prefix(length) + head) == []
    assert dec.buffer_size <= 256 * 1024 + max(FIRST_CHUNK, 2 * len(head))


@FAST
@given(framings, st.lists(st.binary(max_size=50), max_size=5), st.integers(0, 1000),
       st.integers(1, 1 << 40), st.lists(st.integers(1, 40), min_size=1, max_size=5))
def test_oversize_frame_raises_after_the_good_ones(framing: Framing, good: list[bytes],
                                                    max_size: int, over: int,
                                                    cuts: list[int]) -> None:
    good = [g[:max_size] for g in good]
    stream = b"".join(encode_frame(framing, g) for g in good) + framing.prefix(max_size + over)
    dec = FrameDecoder(framing, max_size, 64)
    out: list[bytes] = []
    with pytest.raises(WireError) as ei:
        i = k = 0
        while i < len(stream):
            w = dec.recv_buffer()
            n = min(len(w), cuts[k % len(cuts)], len(stream) - i)
            k += 1
            w[:n] = stream[i:i + n]
            i += n
            out += dec.commit(n)
    assert ei.value.errno == errno.EMSGSIZE
    # the frames completed before the violation, in order (those completed
    # in the very read that brought it go down with the connection)
    assert out == good[:len(out)]


@FAST
@given(st.lists(st.binary(max_size=50), max_size=5), st.integers(0, 255).filter(lambda b: b != 1))
def test_ipc_bad_type_raises_after_the_good_ones(good: list[bytes], bad: int) -> None:
    stream = b"".join(encode_frame(IPC_FRAMING, g) for g in good)
    dec = FrameDecoder(IPC_FRAMING)
    assert dec.feed(stream) == good
    with pytest.raises(WireError) as ei:
        dec.feed(bytes([bad]) + struct.pack(">Q", 1) + b"x")
    assert ei.value.errno == errno.EPROTO


@given(st.integers(1 << 63, (1 << 64) - 1))
def test_lengths_from_2_to_63_are_refused_even_unlimited(length: int) -> None:
    with pytest.raises(WireError):
        FrameDecoder(TCP_FRAMING, -1).feed(struct.pack(">Q", length))


# -- REQ/REP against a model -------------------------------------------------------

class ReqRepModel(RuleBasedStateMachine):
    """A cooked REQ and REP joined in memory; the model: at most one request
    outstanding, the REQ returns exactly the reply to its latest request,
    once, never a stale or duplicate one; recv with nothing outstanding is
    EFSM."""

    def __init__(self) -> None:
        super().__init__()
        self.host = ManualHost()
        self.req = Req(self.host)
        self.host.proto = self.req
        self.req.set_option(REQ_RESEND_IVL, 100)
        self.rep = Rep(ManualHost())
        self.ln = link(self.req, self.rep)
        self.n = 0
        self.outstanding: Optional[bytes] = None
        self.rep_holds = False

    @rule()
    def send(self) -> None:
        self.n += 1
        body = b"q%d" % self.n
        assert self.req.send(Message(body))
        self.outstanding = body

    @rule()
    def pump(self) -> None:
        self.ln.pump()

    @rule(ms=st.integers(1, 250))
    def advance(self, ms: int) -> None:
        self.host.advance(ms)

    @rule()
    def rep_recv(self) -> None:
        m = self.rep.recv()           # a new recv abandons the request held
        self.rep_holds = m is not None
        if m is not None:
            assert m.body.startswith(b"q")
            self.rep_body = m.body

    @precondition(lambda self: self.rep_holds)
    @rule()
    def rep_reply(self) -> None:
        self.rep.send(Message(b"r" + self.rep_body[1:]))
        self.rep_holds = False

    @rule()
    def req_recv(self) -> None:
        if self.outstanding is None:
            with pytest.raises(NanomsgError) as ei:
                self.req.recv()
            assert ei.value.errno == EFSM
            return
        m = self.req.recv()
        if m is not None:
            assert m.body == b"r" + self.outstanding[1:], (m.body, self.outstanding)
            self.outstanding = None

    @invariant()
    def bounded(self) -> None:
        # resends and stale replies never pile up in the memory pipes
        assert len(self.ln.a_pipe.outq) + len(self.ln.b_pipe.inq) < 200


TestReqRepModel = ReqRepModel.TestCase
TestReqRepModel.settings = settings(max_examples=80, stateful_step_count=40, deadline=None)
