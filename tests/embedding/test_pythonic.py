"""Errors the Python way, logging, RCVMAXSIZE on live connections, keyword
construction, option properties and a closed attribute set."""

from __future__ import annotations

import errno
import logging
import pickle

import pytest

import nanomsg_core as nn
from tests.support import Urls, sock, wait_until


@pytest.mark.parametrize("num, base", [
    (errno.ETIMEDOUT, TimeoutError), (errno.EAGAIN, BlockingIOError),
    (errno.ECONNREFUSED, ConnectionRefusedError), (errno.ECONNRESET, ConnectionResetError),
    (errno.EACCES, PermissionError)])
def test_error_class_follows_errno(num: int, base: type) -> None:
    e = nn.NanomsgError(num)
    assert isinstance(e, nn.NanomsgError) and isinstance(e, base) and e.errno == num
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is type(e) and again.errno == num


def test_own_errnos_have_text() -> None:
    assert "terminated" in str(nn.NanomsgError(nn.ETERM))
    assert "state" in str(nn.NanomsgError(nn.EFSM))
    assert type(nn.NanomsgError(errno.EINVAL)) is nn.NanomsgError


def test_timeouts_say_what_timed_out() -> None:
    with sock(nn.PAIR, timeout=20) as s:
        with pytest.raises(TimeoutError) as ei:
            s.recv()
        assert "recv" in str(ei.value) and "RCVTIMEO" in str(ei.value)
        with pytest.raises(BlockingIOError):
            s.recv(nn.DONTWAIT)
        with pytest.raises(TimeoutError) as ei2:
            s.send(b"x")
        assert "SNDTIMEO" in str(ei2.value)


def test_wrong_level_is_named_as_such() -> None:
    with sock(nn.SUB) as s:
        with pytest.raises(nn.NanomsgError) as ei:
            s.setsockopt(nn.SOL_SOCKET, nn.SUB_SUBSCRIBE, b"topic")
        assert ei.value.errno == nn.EINVAL
        assert "LINGER" not in str(ei.value) and "SUB_SUBSCRIBE" in str(ei.value)
        with pytest.raises(nn.NanomsgError) as ei:
            s.setsockopt(12345, 1, 1)
        assert ei.value.errno == nn.ENOPROTOOPT and "level" in str(ei.value)
        with pytest.raises(nn.NanomsgError) as ei:
            s.getsockopt(nn.TCP, 99)
        assert ei.value.errno == nn.ENOPROTOOPT


def test_oversized_message_is_logged_with_size_and_limit(
        caplog: pytest.LogCaptureFixture, wire_url: Urls) -> None:
    url = wire_url()
    a, b = sock(nn.PAIR), sock(nn.PAIR)
    with a, b, caplog.at_level(logging.WARNING, logger="nanomsg_core"):
        a.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, 100)
        b.connect(a.endpoint_address(a.bind(url)))
        b.send(b"x" * 101)
        wait_until(lambda: a.get_statistic(nn.STAT_BROKEN_CONNECTIONS) >= 1, what="drop")
        text = " ".join(r.getMessage() for r in caplog.records)
        assert "101" in text and "100" in text and "RCVMAXSIZE" in text


def test_rcvmaxsize_applies_to_live_connections(wire_url: Urls) -> None:
    a, b = sock(nn.PAIR), sock(nn.PAIR)
    with a, b:
        b.connect(a.endpoint_address(a.bind(wire_url())))
        b.send(b"x" * 5000)
        assert a.recv() == b"x" * 5000
        a.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, 1000)     # now, on the live pipe
        old = b.pipes[0]
        b.send(b"y" * 5000)
        wait_until(lambda: a.get_statistic(nn.STAT_BROKEN_CONNECTIONS) == 1, what="drop")
        a.recv_max_size = -1
        # b learns of the drop and reconnects: a send before that would go down the dead one
        wait_until(lambda: bool(a.pipes) and any(p is not old for p in b.pipes), 10,
                   "b to reconnect")
        b.send(b"z" * 5000)
        assert a.recv() == b"z" * 5000


def test_keywords_properties_and_slots(new_url: Urls) -> None:
    url = new_url()
    with nn.Socket(nn.AF_SP, nn.PAIR, bind=url, recv_timeout=250, name="srv") as a, \
            nn.Socket(nn.AF_SP, "pair", connect=[url], send_timeout=1000) as b:
        assert a.recv_timeout == 250 and a.getsockopt(nn.SOL_SOCKET, nn.RCVTIMEO) == 250
        assert a.name == "srv" and b.send_timeout == 1000
        a.recv_timeout = 5000
        assert a.getsockopt(nn.SOL_SOCKET, nn.RCVTIMEO) == 5000
        b.send(b"kw")
        assert a.recv() == b"kw"
        with pytest.raises(AttributeError):
            a.recv_timout = 5                        # type: ignore[attr-defined]
        with pytest.raises(nn.NanomsgError):
            a.recv_timeout = -5
    with pytest.raises(TypeError) as ei:
        nn.Socket(nn.AF_SP, nn.PAIR, recv_timout=5)
    assert "recv_timeout" in str(ei.value)


def test_engine_side_is_not_public() -> None:
    public = {n for n in dir(nn.Socket) if not n.startswith("_")}
    for internal in ("attach_pipe", "pipe_closed", "engine_close_pipe", "count_stat",
                     "option_snapshot", "wake_recv", "wake_send"):
        assert internal not in public


def test_symbol_names_are_nanomsgs() -> None:
    names = {}
    i = 0
    while True:
        try:
            name, value = nn.symbol(i)
        except nn.NanomsgError:
            break
        names[name] = value
        i += 1
    assert names["AF_SP"] == nn.AF_SP and names["NN_REQ"] == nn.REQ
    assert names["ETIMEDOUT"] == errno.ETIMEDOUT and names["ETERM"] == nn.ETERM
