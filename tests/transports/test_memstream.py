"""memstream:// (docs/examples/transports/memstream.py, the walkthrough of
docs/plugins.md): a transport over an in-memory byte stream, built from the
stream kit's Handshake and StreamPipe, passes the transport conformance kit
-- LINGER, back-pressure and a peer gone midstream included -- and its
stream keeps the ByteStream contract."""

from __future__ import annotations

import ast
import io
import itertools
import os
import tokenize
from collections.abc import Sequence
from types import ModuleType
from typing import Any, Callable, Optional

import pytest

from nanomsg_core.stream import ByteStream
from nanomsg_core.testing import TRANSPORT_CHECKS, check_transport
from tests.support import MEMSTREAM_EXAMPLE, load_memstream

_names = itertools.count()


@pytest.fixture(scope="module")
def memstream() -> ModuleType:
    return load_memstream()


def new_url() -> str:
    return "memstream://t-%d-%d" % (os.getpid(), next(_names))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("check", sorted(TRANSPORT_CHECKS))
def test_conformance(memstream: ModuleType, check: str) -> None:
    check_transport(new_url, only=[check])


# -- the stream itself, on a reactor that runs posted calls only when told ----------

class PostedReactor:
    """Records ``call_soon_threadsafe`` calls; :meth:`run` runs them in order."""

    def __init__(self) -> None:
        self.posted: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def call_soon_threadsafe(self, fn: Callable[..., Any], *args: Any) -> None:
        self.posted.append((fn, args))

    def run(self) -> None:
        posted, self.posted = self.posted, []
        for fn, args in posted:
            fn(*args)


class Ep:
    def __init__(self, reactor: PostedReactor) -> None:
        self.reactor = reactor


def stream_pair(memstream: ModuleType) -> tuple[Any, Any, PostedReactor]:
    r = PostedReactor()
    a, b = memstream.MemStream(Ep(r)), memstream.MemStream(Ep(r))
    a.peer, b.peer = b, a
    return a, b, r


def test_a_mem_stream_is_a_byte_stream(memstream: ModuleType) -> None:
    a, _, _ = stream_pair(memstream)
    assert isinstance(a, ByteStream)


def test_completions_are_posted_never_called_inline(memstream: ModuleType) -> None:
    a, b, r = stream_pair(memstream)
    buf = bytearray(10)
    got: list[tuple[int, Any]] = []
    b.read(memoryview(buf), lambda n, err: got.append((n, err)))
    assert a.try_write([b"hel", memoryview(b"lo")]) == 5
    assert got == [], "a read completed inside the write that fed it"
    r.run()
    assert got == [(5, None)] and bytes(buf[:5]) == b"hello"


def test_a_writer_whose_peer_does_not_read_stays_pending(memstream: ModuleType) -> None:
    a, b, r = stream_pair(memstream)
    window = memstream.WINDOW
    assert a.try_write([b"x" * (window + 10)]) == window
    assert a.try_write([b"y"]) == 0
    wrote: list[tuple[int, Any]] = []
    a.write([b"z" * 100], lambda n, err: wrote.append((n, err)))
    r.run()
    assert wrote == [], "a write completed into a full window"
    buf = bytearray(window)
    b.read(memoryview(buf), lambda n, err: None)
    r.run()
    assert wrote == [(100, None)], "reading did not let the pending write go on"


def test_close_ends_the_peer_after_what_it_has_not_read(memstream: ModuleType) -> None:
    a, b, r = stream_pair(memstream)
    a.try_write([b"last words"])
    a.close()
    got: list[tuple[int, Any]] = []
    buf = bytearray(64)
    b.read(memoryview(buf), lambda n, err: got.append((n, err)))
    r.run()
    b.read(memoryview(buf), lambda n, err: got.append((n, err)))
    r.run()
    assert got == [(10, None), (0, None)] and bytes(buf[:10]) == b"last words"
    pending: list[tuple[int, Any]] = []
    b.write([b"x" * (memstream.WINDOW + 1)], lambda n, err: pending.append((n, err)))
    r.run()
    assert pending and pending[0][0] == 0 and isinstance(pending[0][1], BrokenPipeError)


def test_no_callback_after_close(memstream: ModuleType) -> None:
    a, b, r = stream_pair(memstream)
    got: list[tuple[int, Any]] = []
    b.read(memoryview(bytearray(8)), lambda n, err: got.append((n, err)))
    a.try_write([b"data"])          # the completion is posted ...
    b.close()                       # ... and the stream closes before it runs
    r.run()
    assert got == []


# -- the new checks fail a stream that breaks their rule ---------------------------

def test_unbounded_buffering_fails_stalled_receiver(memstream: ModuleType,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream that takes every byte, however much its peer leaves unread."""
    monkeypatch.setattr(memstream, "WINDOW", 1 << 40)
    with pytest.raises(AssertionError, match=r"stalled_receiver\].*still does not block"):
        check_transport(new_url, only=["stalled_receiver"])


def test_losing_bytes_in_flight_fails_linger(memstream: ModuleType,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream that reports every write done at once but hands its bytes
    to the peer only at its next write (its first, the SP header, at once),
    so that its close throws the last write away: bytes in flight are lost
    however fast the peer reads (clearing the peer's unread bytes at close
    lost nothing when the peer had read them all already)."""
    try_write = memstream.MemStream.try_write

    def lagging_try_write(self: Any, bufs: Sequence[Any]) -> int:
        data = b"".join(bytes(b) for b in bufs)
        held: Optional[bytearray] = self.__dict__.get("held")
        if held is None:                # the SP header
            self.held = bytearray()
            return int(try_write(self, bufs))
        if held:                        # the last write's bytes go now, as far as they fit
            del held[:try_write(self, [bytes(held)])]
        held += data
        return len(data)

    def lagging_write(self: Any, bufs: Sequence[Any], done: Any) -> None:
        self._post(done, lagging_try_write(self, bufs))
    monkeypatch.setattr(memstream.MemStream, "try_write", lagging_try_write)
    monkeypatch.setattr(memstream.MemStream, "write", lagging_write)
    with pytest.raises(AssertionError, match=r"check_transport\[linger\]"):
        check_transport(new_url, only=["linger"], timeout=3.0)


def test_silent_close_fails_peer_gone_midstream(memstream: ModuleType,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream whose close does nothing: the peer never learns (no end of
    stream, no failed write); what it writes is read and dropped, then it stalls."""
    monkeypatch.setattr(memstream.MemStream, "close", lambda self: None)
    with pytest.raises(AssertionError, match=r"peer_gone_midstream\].*STAT_BROKEN"):
        check_transport(new_url, only=["peer_gone_midstream"], timeout=3.0)


def test_the_transport_is_under_100_lines_of_code() -> None:
    """docs/plugins.md says so: code lines of the transport, leaving out
    docstrings, comments, blank lines and the demo under ``__main__``."""
    src = MEMSTREAM_EXAMPLE.read_text()
    tree = ast.parse(src)
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        for st in body if isinstance(body, list) else ():
            if isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant) \
                    and isinstance(st.value.value, str):
                skip.update(range(st.lineno, (st.end_lineno or st.lineno) + 1))
            elif isinstance(st, ast.If) and "__main__" in ast.unparse(st.test):
                skip.update(range(st.lineno, (st.end_lineno or st.lineno) + 1))
    code = {line for tok in tokenize.generate_tokens(io.StringIO(src).readline)
            if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE,
                                tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
            for line in range(tok.start[0], tok.end[0] + 1)} - skip
    assert 50 < len(code) < 100, "the memstream transport has %d lines of code" % len(code)
