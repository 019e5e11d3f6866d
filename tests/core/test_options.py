"""setsockopt/getsockopt: nanomsg's defaults, EINVAL for bad values, ENOPROTOOPT."""

from __future__ import annotations

import errno
from typing import Any

import pytest

import nanomsg_core as nn

DEFAULTS = {nn.SNDTIMEO: -1, nn.RCVTIMEO: -1, nn.SNDBUF: 128 * 1024, nn.RCVBUF: 128 * 1024,
            nn.RCVMAXSIZE: 1024 * 1024, nn.RECONNECT_IVL: 100, nn.RECONNECT_IVL_MAX: 0,
            nn.SNDPRIO: 8, nn.RCVPRIO: 8, nn.IPV4ONLY: 1, nn.MAXTTL: 8, nn.LINGER: 1000}

BAD = [(nn.SNDPRIO, 0), (nn.SNDPRIO, 17), (nn.RCVPRIO, 0), (nn.RCVPRIO, 17),
       (nn.MAXTTL, 0), (nn.MAXTTL, 256), (nn.IPV4ONLY, 2), (nn.RCVTIMEO, -2),
       (nn.SNDTIMEO, "x"), (nn.RCVBUF, -1), (nn.RCVMAXSIZE, -2),
       (nn.RECONNECT_IVL, -1), (nn.SNDBUF, 1.5), (nn.SNDTIMEO, True)]


@pytest.fixture
def sock() -> Any:
    with nn.Socket(nn.AF_SP, nn.PAIR) as s:
        yield s


def test_defaults(sock: nn.Socket) -> None:
    for opt, value in DEFAULTS.items():
        assert sock.getsockopt(nn.SOL_SOCKET, opt) == value, opt
    assert sock.getsockopt(nn.SOL_SOCKET, nn.DOMAIN) == nn.AF_SP
    assert sock.getsockopt(nn.SOL_SOCKET, nn.PROTOCOL) == nn.PAIR
    assert sock.getsockopt(nn.TCP, nn.TCP_NODELAY) == 0


def test_set_get_roundtrip(sock: nn.Socket) -> None:
    for opt, value in [(nn.RCVTIMEO, 250), (nn.SNDPRIO, 1), (nn.RCVPRIO, 16), (nn.MAXTTL, 255),
                       (nn.IPV4ONLY, 0), (nn.RCVMAXSIZE, -1), (nn.RECONNECT_IVL_MAX, 5000)]:
        sock.setsockopt(nn.SOL_SOCKET, opt, value)
        assert sock.getsockopt(nn.SOL_SOCKET, opt) == value
    sock.setsockopt(nn.SOL_SOCKET, nn.SOCKET_NAME, "mine")
    assert sock.getsockopt(nn.SOL_SOCKET, nn.SOCKET_NAME) == "mine"
    sock.setsockopt(nn.TCP, nn.TCP_NODELAY, 1)
    assert sock.getsockopt(nn.TCP, nn.TCP_NODELAY) == 1


@pytest.mark.parametrize("opt,value", BAD)
def test_out_of_range_is_einval(sock: nn.Socket, opt: int, value: Any) -> None:
    before = sock.getsockopt(nn.SOL_SOCKET, opt)
    with pytest.raises(nn.NanomsgError) as ei:
        sock.setsockopt(nn.SOL_SOCKET, opt, value)
    assert ei.value.errno == errno.EINVAL
    assert sock.getsockopt(nn.SOL_SOCKET, opt) == before


@pytest.mark.parametrize("opt", [nn.DOMAIN, nn.PROTOCOL, nn.SNDFD, nn.RCVFD])
def test_read_only_options(sock: nn.Socket, opt: int) -> None:
    with pytest.raises(nn.NanomsgError) as ei:
        sock.setsockopt(nn.SOL_SOCKET, opt, 1)
    assert ei.value.errno == errno.EINVAL


def test_unknown_options(sock: nn.Socket) -> None:
    for level, opt in [(nn.SOL_SOCKET, 999), (nn.TCP, 99), (nn.PAIR, 1), (12345, 1)]:
        with pytest.raises(nn.NanomsgError) as ei:
            sock.setsockopt(level, opt, 1)
        assert ei.value.errno == errno.ENOPROTOOPT
        with pytest.raises(nn.NanomsgError) as ei:
            sock.getsockopt(level, opt)
        assert ei.value.errno == errno.ENOPROTOOPT
    with pytest.raises(nn.NanomsgError) as ei:
        sock.setsockopt(nn.TCP, nn.TCP_NODELAY, 2)
    assert ei.value.errno == errno.EINVAL


def test_bad_socket_arguments() -> None:
    with pytest.raises(nn.NanomsgError) as ei:
        nn.Socket(99, nn.PAIR)
    assert ei.value.errno == errno.EAFNOSUPPORT
    with pytest.raises(nn.NanomsgError) as ei:
        nn.Socket(nn.AF_SP, 12345)
    assert ei.value.errno == errno.EPROTONOSUPPORT
    with pytest.raises(nn.NanomsgError) as ei:
        nn.Socket(nn.AF_SP, "no-such-protocol")
    assert ei.value.errno == errno.EPROTONOSUPPORT


def test_protocol_by_name_and_number() -> None:
    with nn.Socket(nn.AF_SP, "pair") as a, nn.Socket(nn.AF_SP, "PAIR") as b:
        assert a.getsockopt(nn.SOL_SOCKET, nn.PROTOCOL) == nn.PAIR
        assert b.getsockopt(nn.SOL_SOCKET, nn.PROTOCOL) == nn.PAIR
