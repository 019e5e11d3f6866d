"""Errors a new user meets read as words and say what happened: every errno
of the table, a survey past its deadline, RCVFD/SNDFD of a one-way socket,
``pipe.send`` given bytes, and a socket's name in its repr."""

from __future__ import annotations

import asyncio
import errno
import os

import pytest

import nanomsg_core as nn
import nanomsg_core.errors as errors_mod
from tests.support import errno_of, wait_pipes



def _symbols() -> list[tuple[str, int]]:
    out, i = [], 0
    while True:
        try:
            out.append(nn.symbol(i))
        except nn.NanomsgError:
            return out
        i += 1


ERRNOS = [(name, value) for name, value in _symbols() if name.startswith("E")]


def _words(text: str) -> bool:
    return any(w.isalpha() and len(w) > 2 for w in text.replace(":", " ").split())


@pytest.mark.parametrize("name,num", ERRNOS, ids=[n for n, _ in ERRNOS])
def test_every_errno_of_the_table_reads_as_words(name: str, num: int) -> None:
    err = nn.NanomsgError(num)
    text = str(err)
    assert _words(err.strerror or "") and "Unknown error" not in text, (name, text)
    assert err.errno == num
    if num >= 156384712:                # nanomsg's own: its name, not 156384766
        assert text.startswith("[%s] " % name) and str(num) not in text, text


@pytest.mark.parametrize("name,num", ERRNOS, ids=[n for n, _ in ERRNOS])
def test_words_even_where_the_os_has_none(name: str, num: int,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows' strerror knows few socket errnos: nn.strerror still has words."""
    monkeypatch.setattr(errors_mod.os, "strerror", lambda n: "Unknown error %d" % n)
    text = nn.strerror(num)
    assert _words(text) and "Unknown error" not in text, (name, text)


def test_unknown_number_says_so_with_its_name_when_there_is_one() -> None:
    assert nn.strerror(987654) == "Unknown error 987654"
    assert os.strerror(errno.EINVAL) == nn.strerror(errno.EINVAL)


def test_errors_pickle_with_their_text() -> None:
    import pickle
    e = pickle.loads(pickle.dumps(nn.NanomsgError(nn.EFSM, "no survey running")))
    assert str(e) == "[EFSM] no survey running" and e.errno == nn.EFSM


# -- a survey past its deadline -----------------------------------------------

def _surveyor(deadline_ms: int) -> nn.Socket:
    s = nn.Socket(nn.AF_SP, nn.SURVEYOR, recv_timeout=30000, send_timeout=30000)
    s.setsockopt(nn.SURVEYOR, nn.SURVEYOR_DEADLINE, deadline_ms)
    return s


@pytest.mark.timeout(60)
def test_survey_deadline_says_so_and_names_the_option() -> None:
    with _surveyor(50) as s:
        with pytest.raises(nn.NanomsgError) as before:
            s.recv()
        assert before.value.errno == nn.EFSM and "sent no survey" in str(before.value)
        s.send(b"anyone?")
        with pytest.raises(TimeoutError) as late:          # also a NanomsgError
            s.recv()
        text = str(late.value)
        assert late.value.errno == errno.ETIMEDOUT
        assert "survey deadline passed" in text and "SURVEYOR_DEADLINE" in text, text
        assert "50 ms" in text and "Connection timed out" not in text
        with pytest.raises(nn.NanomsgError) as again:      # the second recv
            s.recv()
        text = str(again.value)
        assert again.value.errno == nn.EFSM
        assert text.startswith("[EFSM] no survey running") and "send a new survey" in text
        assert "156384766" not in text


@pytest.mark.timeout(60)
def test_survey_deadline_in_asyncio_and_on_a_context() -> None:
    async def main() -> list[str]:
        with _surveyor(30) as s:
            await s.asend(b"q")
            out = []
            with pytest.raises(TimeoutError) as e:
                await s.arecv()
            out.append(str(e.value))
            ctx = s.context()
            ctx.send(b"q2")
            with pytest.raises(TimeoutError) as e2:
                ctx.recv()
            out.append(str(e2.value))
            return out
    for text in asyncio.run(main()):
        assert "survey deadline passed" in text and "SURVEYOR_DEADLINE" in text, text


# -- RCVFD / SNDFD on a one-way socket -----------------------------------------

@pytest.mark.parametrize("domain", [nn.AF_SP, nn.AF_SP_RAW])
@pytest.mark.parametrize("proto,missing,present", [
    (nn.PUB, nn.RCVFD, nn.SNDFD), (nn.PUSH, nn.RCVFD, nn.SNDFD),
    (nn.SUB, nn.SNDFD, nn.RCVFD), (nn.PULL, nn.SNDFD, nn.RCVFD)])
def test_one_way_socket_has_one_fd(domain: int, proto: int, missing: int,
                                   present: int) -> None:
    with nn.Socket(domain, proto) as s:
        with pytest.raises(nn.NanomsgError) as e:
            s.getsockopt(nn.SOL_SOCKET, missing)
        assert e.value.errno == nn.ENOPROTOOPT
        assert "cannot" in str(e.value) and ("RCVFD" if missing == nn.RCVFD else "SNDFD") \
            in str(e.value)
        assert isinstance(s.getsockopt(nn.SOL_SOCKET, present), int)
        prop = "recv_fd" if missing == nn.RCVFD else "send_fd"
        assert errno_of(lambda: getattr(s, prop)) == nn.ENOPROTOOPT


def test_both_fds_on_two_way_sockets() -> None:
    for proto in (nn.PAIR, nn.REQ, nn.REP, nn.BUS, nn.SURVEYOR, nn.RESPONDENT):
        with nn.Socket(nn.AF_SP, proto) as s:
            assert s.recv_fd != s.send_fd


@pytest.mark.timeout(60)
def test_poll_of_a_one_way_socket_still_works() -> None:
    with nn.Socket(nn.AF_SP, nn.PUB) as pub, nn.Socket(nn.AF_SP, nn.PULL) as pull:
        assert nn.poll([(pub, nn.POLLIN | nn.POLLOUT)], 5000) == [nn.POLLOUT]
        assert nn.poll([(pull, nn.POLLIN | nn.POLLOUT)], 10) == [0]


# -- the Pipe a user sees ------------------------------------------------------

@pytest.mark.timeout(60)
def test_pipe_send_of_bytes_is_a_clear_type_error() -> None:
    url = "inproc://pipe-surface-%d" % os.getpid()
    with nn.Socket(nn.AF_SP, nn.PAIR, bind=url, recv_timeout=30000) as a, \
            nn.Socket(nn.AF_SP, nn.PAIR, connect=url, send_timeout=30000) as b:
        wait_pipes(a, 1, 30)
        b.send(b"hello")
        msg = a.recv_msg()
        pipe = msg.pipe
        assert pipe is not None and pipe in a.pipes
        with pytest.raises(TypeError, match="takes a Message.*sock.send"):
            pipe.send(b"x")                                # type: ignore[arg-type]
        assert isinstance(pipe.id, int) and pipe.transport == "inproc"
        assert pipe.remote_address and pipe.local_address is not None
        assert pipe.endpoint in a.endpoints and pipe.peer_protocol == nn.PAIR
        assert (pipe.peer_pid, pipe.peer_uid, pipe.peer_gid) == (None, None, None)
        for internal in ("direct_recv", "set_recv_max_size"):
            assert not hasattr(pipe, internal), internal
        pipe.close()


# -- names ------------------------------------------------------------------

def test_name_shows_in_the_repr() -> None:
    with nn.Socket(nn.AF_SP, nn.REQ, name="frontend") as s:
        assert repr(s) == "<nanomsg_core.Socket req 'frontend'>"
        s.name = "renamed"
        assert "'renamed'" in repr(s) and "renamed" in repr(s.context())
    assert repr(s) == "<nanomsg_core.Socket req 'renamed' closed>"
    with nn.Socket(nn.AF_SP_RAW, nn.REP) as r:
        assert repr(r) == "<nanomsg_core.Socket rep raw>"


def test_the_rendered_pipe_reference_is_the_user_surface() -> None:
    """docs/reference/api.md renders Pipe with an explicit member list: every
    name API.md promises, each a real attribute, and no internals."""
    from pathlib import Path
    page = (Path(__file__).resolve().parents[2] / "docs" / "reference" / "api.md").read_text()
    block = page.split("::: nanomsg_core.Pipe", 1)[1].split("\n\n", 1)[0]
    members = [line.strip()[2:] for line in block.splitlines() if line.strip().startswith("- ")]
    promised = {"id", "transport", "local_address", "remote_address", "peer_pid", "peer_uid",
                "peer_gid", "close"}
    assert promised <= set(members), members
    for name in members:
        assert name in nn.Pipe.__annotations__ or callable(getattr(nn.Pipe, name)), name
    assert not set(members) & {"send", "recv", "deliver", "queued", "mark_closed", "data"}
