"""The read table of a stream connection (nanomsg_core.stream.reads): every
(state, event) pair, sans-IO.  The allowed pairs and their answers are
written out here on their own, so a change to the table has to change this
list too; every other pair must raise ReadStateError and change nothing."""

from __future__ import annotations

import ast
import errno
import itertools
from pathlib import Path

import pytest

from nanomsg_core.stream import reads as R
from nanomsg_core.stream.reads import Act, ReadEvent, Reads, ReadState, ReadStateError

pytestmark = pytest.mark.timeout(30)

# "STATE EVENT -> NEXT ACTION", the documented behaviour, pair by pair
ALLOWED = [
    "STARTING START -> ENGINE ARM",
    "STARTING RESUME -> STARTING NONE",
    "STARTING DRAINED -> STARTING NONE",
    "STARTING TAKE -> STARTING REFUSE",
    "STARTING IDLE -> STARTING FORGET",
    "STARTING TRIM -> STARTING NONE",
    "STARTING CLOSE -> CLOSING CLOSE_STREAM",
    "ENGINE READ -> ENGINE ARM_DELIVER",
    "ENGINE FULL -> PAUSING NONE",
    "ENGINE RESUME -> RESUMED NONE",
    "ENGINE REPLAY -> ENGINE NONE",
    "ENGINE CHOKE -> CHOKED DELIVER",
    "ENGINE DRAINED -> ENGINE NONE",
    "ENGINE TAKE -> ENGINE DETACH_FIRST",
    "ENGINE TAKEN -> DIRECT READ",
    "ENGINE IDLE -> ENGINE FORGET",
    "ENGINE RECLAIM -> ENGINE NONE",
    "ENGINE TRIM -> ENGINE SWAP",
    "ENGINE CLOSE -> CLOSING CLOSE_STREAM",
    "RESUMED READ -> ENGINE ARM_DELIVER",
    "RESUMED FULL -> ENGINE NONE",
    "RESUMED RESUME -> RESUMED NONE",
    "RESUMED REPLAY -> RESUMED NONE",
    "RESUMED CHOKE -> CHOKED DELIVER",
    "RESUMED DRAINED -> RESUMED NONE",
    "RESUMED TAKE -> RESUMED DETACH_FIRST",
    "RESUMED TAKEN -> DIRECT READ",
    "RESUMED IDLE -> RESUMED FORGET",
    "RESUMED RECLAIM -> RESUMED NONE",
    "RESUMED TRIM -> RESUMED SWAP",
    "RESUMED CLOSE -> CLOSING CLOSE_STREAM",
    "PAUSING READ -> HELD HOLD",
    "PAUSING RESUME -> ENGINE NONE",
    "PAUSING REPLAY -> PAUSING NONE",
    "PAUSING CHOKE -> HELD HOLD",
    "PAUSING DRAINED -> PAUSING NONE",
    "PAUSING TAKE -> PAUSING DETACH_FIRST",
    "PAUSING TAKEN -> DIRECT READ",
    "PAUSING IDLE -> PAUSING FORGET",
    "PAUSING RECLAIM -> PAUSING NONE",
    "PAUSING TRIM -> PAUSING NONE",
    "PAUSING CLOSE -> CLOSING CLOSE_STREAM",
    "HELD RESUME -> HELD WAKE",
    "HELD REPLAY -> REPLAYING REPLAY",
    "HELD DRAINED -> HELD NONE",
    "HELD TAKE -> HELD REFUSE",
    "HELD IDLE -> HELD FORGET",
    "HELD RECLAIM -> HELD NONE",
    "HELD TRIM -> HELD NONE",
    "HELD CLOSE -> CLOSING CLOSE_STREAM",
    "PAUSED RESUME -> PAUSED WAKE",
    "PAUSED REPLAY -> REPLAYING REPLAY",
    "PAUSED DRAINED -> PAUSED NONE",
    "PAUSED TAKE -> DIRECT READ",
    "PAUSED IDLE -> PAUSED FORGET",
    "PAUSED RECLAIM -> PAUSED NONE",
    "PAUSED TRIM -> PAUSED NONE",
    "PAUSED CLOSE -> CLOSING CLOSE_STREAM",
    "REPLAYING FULL -> PAUSED NONE",
    "REPLAYING RESUME -> REPLAYING WAKE",
    "REPLAYING REARM -> ENGINE ARM",
    "REPLAYING CHOKE -> CHOKED NONE",
    "REPLAYING DRAINED -> REPLAYING NONE",
    "REPLAYING TAKE -> REPLAYING REFUSE",
    "REPLAYING IDLE -> REPLAYING FORGET",
    "REPLAYING RECLAIM -> REPLAYING NONE",
    "REPLAYING TRIM -> REPLAYING NONE",
    "REPLAYING CLOSE -> CLOSING CLOSE_STREAM",
    "CHOKED FULL -> PAUSED NONE",
    "CHOKED RESUME -> CHOKED WAKE",
    "CHOKED REPLAY -> CHOKED NONE",
    "CHOKED DRAINED -> ENGINE ARM",
    "CHOKED TAKE -> CHOKED REFUSE",
    "CHOKED IDLE -> CHOKED FORGET",
    "CHOKED RECLAIM -> CHOKED NONE",
    "CHOKED TRIM -> CHOKED NONE",
    "CHOKED CLOSE -> CLOSING CLOSE_STREAM",
    "DIRECT FULL -> DIRECT NONE",
    "DIRECT RESUME -> DIRECT NONE",
    "DIRECT REPLAY -> DIRECT NONE",
    "DIRECT DRAINED -> DIRECT NONE",
    "DIRECT TAKE -> DIRECT REFUSE",
    "DIRECT KEEP -> KEPT WATCH",
    "DIRECT LOST -> CLOSING NONE",
    "DIRECT IDLE -> DIRECT FORGET",
    "DIRECT RECLAIM -> DIRECT NONE",
    "DIRECT TRIM -> DIRECT NONE",
    "DIRECT CLOSE -> LEAVING NONE",
    "KEPT FULL -> KEPT NONE",
    "KEPT RESUME -> KEPT NONE",
    "KEPT REPLAY -> KEPT NONE",
    "KEPT DRAINED -> KEPT NONE",
    "KEPT TAKE -> REREADING READ",
    "KEPT IDLE -> KEPT DETACH_FIRST",
    "KEPT RECLAIM -> ENGINE ARM",
    "KEPT TRIM -> KEPT NONE",
    "KEPT CLOSE -> CLOSING CLOSE_STREAM",
    "REREADING FULL -> REREADING NONE",
    "REREADING RESUME -> REREADING NONE",
    "REREADING REPLAY -> REREADING NONE",
    "REREADING DRAINED -> REREADING NONE",
    "REREADING TAKE -> REREADING REFUSE",
    "REREADING KEEP -> KEPT RENEW",
    "REREADING LOST -> CLOSING NONE",
    "REREADING IDLE -> REREADING NONE",
    "REREADING RECLAIM -> DIRECT NONE",
    "REREADING TRIM -> REREADING NONE",
    "REREADING CLOSE -> LEAVING NONE",
    "LEAVING FULL -> LEAVING NONE",
    "LEAVING RESUME -> LEAVING NONE",
    "LEAVING REPLAY -> LEAVING NONE",
    "LEAVING DRAINED -> LEAVING NONE",
    "LEAVING TAKE -> LEAVING REFUSE",
    "LEAVING KEEP -> CLOSING CLOSE_STREAM",
    "LEAVING LOST -> CLOSING CLOSE_STREAM",
    "LEAVING IDLE -> LEAVING FORGET",
    "LEAVING RECLAIM -> LEAVING NONE",
    "LEAVING TRIM -> LEAVING NONE",
    "CLOSING START -> CLOSING NONE",
    "CLOSING READ -> CLOSING NONE",
    "CLOSING FULL -> CLOSING NONE",
    "CLOSING RESUME -> CLOSING NONE",
    "CLOSING REPLAY -> CLOSING NONE",
    "CLOSING CHOKE -> CLOSING NONE",
    "CLOSING DRAINED -> CLOSING NONE",
    "CLOSING TAKE -> CLOSING REFUSE",
    "CLOSING IDLE -> CLOSING FORGET",
    "CLOSING RECLAIM -> CLOSING NONE",
    "CLOSING TRIM -> CLOSING NONE",
    "CLOSING CLOSE -> CLOSING CLOSE_STREAM",
]


def _spec() -> dict[tuple[Reads, ReadEvent], tuple[Reads, Act]]:
    out = {}
    for line in ALLOWED:
        pair, answer = line.split(" -> ")
        state, event = pair.split()
        nxt, act = answer.split()
        out[Reads[state], ReadEvent[event]] = (Reads[nxt], Act[act])
    return out


SPEC = _spec()
PAIRS = list(itertools.product(Reads, ReadEvent))


def _at(state: Reads) -> ReadState:
    rs = ReadState()
    rs.state = state
    return rs


def test_the_spec_lists_no_pair_twice() -> None:
    assert len(SPEC) == len(ALLOWED)


@pytest.mark.parametrize("state,event", PAIRS, ids=["%s-%s" % (s.name, e.name) for s, e in PAIRS])
def test_every_pair_answers_as_documented_or_raises(state: Reads, event: ReadEvent) -> None:
    rs = _at(state)
    if (state, event) in SPEC:
        nxt, act = SPEC[state, event]
        assert rs.go(event) is act
        assert rs.state is nxt
    else:
        with pytest.raises(ReadStateError) as info:
            rs.go(event)
        assert rs.state is state, "a refused event changes nothing"
        assert info.value.errno == errno.EFAULT
        assert event.name in str(info.value) and state.name in str(info.value)


def test_the_table_holds_exactly_the_documented_pairs() -> None:
    table = {(s, e): v for s, row in R.TRANSITIONS.items() for e, v in row.items()}
    assert table == SPEC


def test_the_module_documents_every_state_event_and_action() -> None:
    # from the source: a compiled (mypyc) module keeps no docstring
    doc = ast.get_docstring(ast.parse(Path(R.__file__ or "").with_name("reads.py").read_text())) or ""
    for member in (*Reads, *ReadEvent, *Act):
        assert "``%s``" % member.name in doc, member


def test_every_state_is_reachable_from_starting() -> None:
    seen, todo = {Reads.STARTING}, [Reads.STARTING]
    while todo:
        for nxt, _act in R.TRANSITIONS[todo.pop()].values():
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(Reads)


def _run(rs: ReadState, *steps: tuple[ReadEvent, Act]) -> None:
    for event, act in steps:
        assert rs.go(event) is act, (event, rs.state)


E, A = ReadEvent, Act


def test_a_resume_before_the_full_voids_it() -> None:
    """resume_recv raced ahead of the engine's FULL: reading goes on."""
    rs = ReadState()
    _run(rs, (E.START, A.ARM), (E.READ, A.ARM_DELIVER), (E.RESUME, A.NONE), (E.FULL, A.NONE))
    assert rs.state is Reads.ENGINE


def test_pause_hold_and_replay() -> None:
    rs = ReadState()
    _run(rs, (E.START, A.ARM), (E.READ, A.ARM_DELIVER), (E.FULL, A.NONE),
         (E.READ, A.HOLD), (E.TAKE, A.REFUSE), (E.RESUME, A.WAKE), (E.REPLAY, A.REPLAY),
         (E.RESUME, A.WAKE), (E.REARM, A.ARM), (E.REPLAY, A.NONE))
    assert rs.state is Reads.ENGINE


def test_held_frames_are_kept_and_taken_once() -> None:
    rs = ReadState()
    rs.hold([b"a"])
    rs.hold([b"b", b"c"])
    assert rs.take_held() == [b"a", b"b", b"c"]
    assert rs.take_held() == []


def test_control_replies_choke_reading_until_drained() -> None:
    """A codec's pongs fill SNDBUF: no receive until they drain; a full
    receive queue meanwhile waits for resume_recv, which checks again."""
    rs = ReadState()
    _run(rs, (E.START, A.ARM), (E.CHOKE, A.DELIVER), (E.DRAINED, A.ARM))
    _run(rs, (E.CHOKE, A.DELIVER), (E.FULL, A.NONE), (E.DRAINED, A.NONE),
         (E.RESUME, A.WAKE), (E.REPLAY, A.REPLAY), (E.CHOKE, A.NONE), (E.DRAINED, A.ARM))
    assert rs.state is Reads.ENGINE


def test_a_direct_reader_takes_keeps_and_hands_back() -> None:
    rs = ReadState()
    _run(rs, (E.START, A.ARM), (E.TAKE, A.DETACH_FIRST), (E.TAKEN, A.READ), (E.TAKE, A.REFUSE),
         (E.KEEP, A.WATCH), (E.TAKE, A.READ), (E.KEEP, A.RENEW), (E.IDLE, A.DETACH_FIRST),
         (E.RECLAIM, A.ARM), (E.IDLE, A.FORGET))
    assert rs.state is Reads.ENGINE


def test_a_kept_connection_read_again_keeps_its_watch_unless_it_fired() -> None:
    """Read again from KEPT, the watch and the idle keeper's entry stay
    (RENEW); the keeper's tick meanwhile leaves it alone (NONE, not FORGET);
    a watch that fired meanwhile is gone, so keeping it watches again."""
    rs = ReadState()
    _run(rs, (E.START, A.ARM), (E.TAKE, A.DETACH_FIRST), (E.TAKEN, A.READ), (E.KEEP, A.WATCH),
         (E.TAKE, A.READ), (E.IDLE, A.NONE), (E.KEEP, A.RENEW),
         (E.TAKE, A.READ), (E.RECLAIM, A.NONE), (E.KEEP, A.WATCH))
    assert rs.state is Reads.KEPT
    _run(rs, (E.TAKE, A.READ), (E.CLOSE, A.NONE), (E.KEEP, A.CLOSE_STREAM))
    assert rs.state is Reads.CLOSING


def test_closed_under_a_direct_reader_it_closes_the_stream_itself() -> None:
    rs = ReadState()
    _run(rs, (E.START, A.ARM), (E.TAKE, A.DETACH_FIRST), (E.TAKEN, A.READ),
         (E.CLOSE, A.NONE), (E.KEEP, A.CLOSE_STREAM))
    assert rs.state is Reads.CLOSING
    rs = _at(Reads.DIRECT)
    _run(rs, (E.LOST, A.NONE), (E.CLOSE, A.CLOSE_STREAM))


def test_a_stale_hangup_does_nothing() -> None:
    rs = _at(Reads.DIRECT)
    _run(rs, (E.RECLAIM, A.NONE))
    assert rs.state is Reads.DIRECT
