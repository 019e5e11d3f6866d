"""Every STAT_* counter, kept current over every transport, with nanomsg's meanings."""

from __future__ import annotations

import pytest

import nanomsg_core as nn
from tests.support import Urls, sock, wait_until


def test_message_and_byte_counters(new_url: Urls) -> None:
    a, b = sock(nn.PAIR), sock(nn.PAIR)
    with a, b:
        b.connect(a.endpoint_address(a.bind(new_url())))
        for body in (b"", b"x" * 10, b"y" * 1000):
            b.send(body)
            assert a.recv() == body
        b.send_msg(nn.Message(b"zz"))
        assert a.recv_msg().body == b"zz"
        assert b.get_statistic(nn.STAT_MESSAGES_SENT) == 4
        assert b.get_statistic(nn.STAT_BYTES_SENT) == 1012
        assert a.get_statistic(nn.STAT_MESSAGES_RECEIVED) == 4
        assert a.get_statistic(nn.STAT_BYTES_RECEIVED) == 1012
        assert a.get_statistic(nn.STAT_MESSAGES_SENT) == 0


def test_connection_counters(new_url: Urls) -> None:
    a, b = sock(nn.PAIR), sock(nn.PAIR)
    with a:
        url = a.endpoint_address(a.bind(new_url()))
        b.connect(url)
        wait_until(lambda: a.get_statistic(nn.STAT_CURRENT_CONNECTIONS) == 1, what="accept")
        wait_until(lambda: b.get_statistic(nn.STAT_ESTABLISHED_CONNECTIONS) == 1, what="dial")
        if not url.startswith("inproc"):
            assert a.get_statistic(nn.STAT_ACCEPTED_CONNECTIONS) == 1
        b.close()                                   # closed by the peer: broken
        wait_until(lambda: a.get_statistic(nn.STAT_BROKEN_CONNECTIONS) == 1, what="broken")
        assert a.get_statistic(nn.STAT_DROPPED_CONNECTIONS) == 0
        assert a.get_statistic(nn.STAT_CURRENT_CONNECTIONS) == 0


def test_dropped_by_shutdown_and_endpoint_errors(tcp_url: str) -> None:
    a, b = sock(nn.PAIR), sock(nn.PAIR)
    with a, b:
        eid = a.bind(tcp_url)
        b.connect(tcp_url)
        wait_until(lambda: len(a.pipes) == 1, what="accept")
        a.shutdown(eid)                             # we close it: dropped
        assert a.get_statistic(nn.STAT_DROPPED_CONNECTIONS) == 1
        wait_until(lambda: b.get_statistic(nn.STAT_CONNECT_ERRORS) >= 1, what="refused")
        wait_until(lambda: b.get_statistic(nn.STAT_CURRENT_EP_ERRORS) == 1, what="ep error")
        with pytest.raises(nn.NanomsgError):
            b.bind(a.endpoint_address(a.bind(tcp_url)))
        assert b.get_statistic(nn.STAT_BIND_ERRORS) == 1


def test_unknown_statistic_is_einval() -> None:
    with sock(nn.PAIR) as s:
        for stat in (0, 100, 108, 204, 305, -1):
            with pytest.raises(nn.NanomsgError) as ei:
                s.get_statistic(stat)
            assert ei.value.errno == nn.EINVAL
        assert s.get_statistic(nn.STAT_INPROGRESS_CONNECTIONS) == 0


def test_failed_handshakes_count_as_accept_errors_and_are_logged(
        tcp_url: str, caplog: "pytest.LogCaptureFixture") -> None:
    import logging
    import socket as pysocket
    a = sock(nn.PAIR)
    with a, caplog.at_level(logging.WARNING, logger="nanomsg_core"):
        host, port = a.endpoint_address(a.bind(tcp_url))[len("tcp://"):].rsplit(":", 1)
        with pysocket.create_connection((host, int(port))) as raw:
            raw.sendall(b"GET / HTTP/1.1\r\n\r\n")       # not an SP header
            wait_until(lambda: a.get_statistic(nn.STAT_ACCEPT_ERRORS) == 1, what="accept error")
        assert any("refused a connection" in r.getMessage() for r in caplog.records)
        assert a.get_statistic(nn.STAT_CURRENT_CONNECTIONS) == 0
