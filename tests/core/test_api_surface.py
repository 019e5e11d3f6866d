"""The public surface matches API.md: names, numbers, defaults, sorted __all__."""

from __future__ import annotations

import errno

import pytest

import nanomsg_core as nn


def test_all_is_sorted_and_complete() -> None:
    assert nn.__all__ == sorted(nn.__all__)
    for name in nn.__all__:
        assert hasattr(nn, name), name


def test_numbers_are_nanomsgs() -> None:
    assert (nn.AF_SP, nn.AF_SP_RAW) == (1, 2)
    assert (nn.PAIR, nn.PUB, nn.SUB, nn.REQ, nn.REP, nn.PUSH, nn.PULL, nn.SURVEYOR,
            nn.RESPONDENT, nn.BUS) == (16, 32, 33, 48, 49, 80, 81, 98, 99, 112)
    assert (nn.FANOUT, nn.SOURCE, nn.FANIN, nn.SINK) == (nn.PUSH, nn.PUSH, nn.PULL, nn.PULL)
    assert [nn.LINGER, nn.SNDBUF, nn.RCVBUF, nn.SNDTIMEO, nn.RCVTIMEO, nn.RECONNECT_IVL,
            nn.RECONNECT_IVL_MAX, nn.SNDPRIO, nn.RCVPRIO, nn.SNDFD, nn.RCVFD, nn.DOMAIN,
            nn.PROTOCOL, nn.IPV4ONLY, nn.SOCKET_NAME, nn.RCVMAXSIZE,
            nn.MAXTTL] == list(range(1, 18))
    assert (nn.INPROC, nn.IPC, nn.TCP, nn.WS) == (-1, -2, -3, -4)
    assert (nn.SOL_SOCKET, nn.TCP_NODELAY, nn.REQ_RESEND_IVL, nn.SUB_SUBSCRIBE,
            nn.SUB_UNSUBSCRIBE, nn.SURVEYOR_DEADLINE) == (0, 1, 1, 1, 2, 1)
    assert (nn.POLLIN, nn.POLLOUT, nn.DONTWAIT) == (1, 2, 1)
    assert nn.ETERM == 156384712 + 53 and nn.EFSM == 156384712 + 54
    assert nn.STAT_MESSAGES_SENT == 301 and nn.STAT_ESTABLISHED_CONNECTIONS == 101


def test_errors_are_oserrors_with_errno() -> None:
    e = nn.NanomsgError(errno.EAGAIN)
    assert isinstance(e, OSError) and e.errno == errno.EAGAIN
    assert "temporarily unavailable" in str(e).lower() or "again" in str(e).lower()
    assert nn.strerror(nn.ETERM) == "Nanomsg library was terminated"
    assert nn.strerror(nn.EFSM) == "Operation cannot be performed in this state"


def test_symbol_table() -> None:
    seen = {}
    i = 0
    while True:
        try:
            name, value = nn.symbol(i)
        except nn.NanomsgError as e:
            assert e.errno == errno.EINVAL
            break
        seen[name] = value
        i += 1
    assert seen["AF_SP"] == 1 and seen["AF_SP_RAW"] == 2     # nanomsg's own spelling
    assert seen["NN_PAIR"] == 16 and seen["EFSM"] == nn.EFSM and seen["ETERM"] == nn.ETERM
    assert seen["NN_SOL_SOCKET"] == 0 and seen["EAGAIN"] == errno.EAGAIN
    with pytest.raises(nn.NanomsgError):
        nn.symbol(-1)
