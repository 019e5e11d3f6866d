"""pipe_notify: NNG's three events, refusal in ADD_PRE, waiting for a peer
with an event instead of a sleep, peer credentials on ipc."""

from __future__ import annotations

import os
import sys
import threading

import pytest

import nanomsg_core as nn
from tests.support import Urls, sock, wait_until


def test_events_in_order_and_wait_for_first_peer(new_url: Urls) -> None:
    a, b = sock(nn.PAIR), sock(nn.PAIR)
    seen: list[tuple[int, int]] = []
    connected = threading.Event()
    gone = threading.Event()
    a.pipe_notify(nn.PIPE_EV_ADD_PRE, lambda p: seen.append((nn.PIPE_EV_ADD_PRE, p.id)))
    a.pipe_notify(nn.PIPE_EV_ADD_POST, lambda p: (seen.append((nn.PIPE_EV_ADD_POST, p.id)),
                                                  connected.set()))
    a.pipe_notify(nn.PIPE_EV_REM_POST, lambda p: (seen.append((nn.PIPE_EV_REM_POST, p.id)),
                                                  gone.set()))
    with a:
        url = a.endpoint_address(a.bind(new_url()))
        b.connect(url)
        assert connected.wait(5)              # no sleep: the event says the peer is here
        b.send(b"hello")
        msg = a.recv_msg()
        assert msg.body == b"hello"
        b.close()
        assert gone.wait(5)
        pid = msg.pipe.id
        assert seen == [(nn.PIPE_EV_ADD_PRE, pid), (nn.PIPE_EV_ADD_POST, pid),
                        (nn.PIPE_EV_REM_POST, pid)]


def test_closing_in_add_pre_refuses_the_connection(new_url: Urls) -> None:
    a = sock(nn.PULL, timeout=300)
    refused = threading.Event()
    removed: list[object] = []

    def deny(pipe: nn.Pipe) -> None:
        pipe.close()
        refused.set()
    a.pipe_notify(nn.PIPE_EV_ADD_PRE, deny)
    a.pipe_notify(nn.PIPE_EV_REM_POST, removed.append)
    with a, sock(nn.PUSH) as b:
        b.connect(a.endpoint_address(a.bind(new_url())))
        assert refused.wait(5)
        assert a.pipes == []
        with pytest.raises(TimeoutError):
            a.recv()
        assert removed == []                  # no REM_POST for a refused pipe
        a.pipe_notify(nn.PIPE_EV_ADD_PRE, None)   # clear: the next attempt gets in
        wait_until(lambda: len(a.pipes) == 1, what="accepted after clearing")
        b.send(b"in")
        assert a.recv() == b"in"


def test_access_control_by_address(tcp_url: str) -> None:
    a = sock(nn.PAIR)
    addresses: list[str] = []

    def only_loopback(pipe: nn.Pipe) -> None:
        addresses.append(pipe.remote_address)
        if not pipe.remote_address.startswith("tcp://127.0.0.1:"):
            pipe.close()
    a.pipe_notify(nn.PIPE_EV_ADD_PRE, only_loopback)
    with a, sock(nn.PAIR) as b:
        b.connect(a.endpoint_address(a.bind(tcp_url)))
        wait_until(lambda: len(a.pipes) == 1, what="loopback peer admitted")
        assert addresses and addresses[0].startswith("tcp://127.0.0.1:")


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="peer credentials come from SO_PEERCRED, which only Linux has")
def test_ipc_peer_credentials(ipc_url: str) -> None:
    a, b = sock(nn.PAIR), sock(nn.PAIR)
    with a, b:
        b.connect(a.endpoint_address(a.bind(ipc_url)))
        wait_until(lambda: len(a.pipes) == 1 and len(b.pipes) == 1, what="connected")
        (pipe,) = a.pipes
        assert (pipe.peer_pid, pipe.peer_uid, pipe.peer_gid) == (
            os.getpid(), os.getuid(), os.getgid())


def test_tcp_has_no_credentials(tcp_url: str) -> None:
    a, b = sock(nn.PAIR), sock(nn.PAIR)
    with a, b:
        b.connect(a.endpoint_address(a.bind(tcp_url)))
        wait_until(lambda: len(a.pipes) == 1, what="connected")
        (pipe,) = a.pipes
        assert (pipe.peer_pid, pipe.peer_uid, pipe.peer_gid) == (None, None, None)


def test_bad_pipe_notify_arguments() -> None:
    with sock(nn.PAIR) as s:
        for event, fn in ((0, print), (4, print), (nn.PIPE_EV_ADD_PRE, "not callable")):
            with pytest.raises(nn.NanomsgError) as ei:
                s.pipe_notify(event, fn)          # type: ignore[arg-type]
            assert ei.value.errno == nn.EINVAL


def test_closing_the_socket_ends_every_pipe_with_rem_post(new_url: Urls) -> None:
    a, b = sock(nn.PAIR), sock(nn.PAIR)
    added: list[int] = []
    removed: list[int] = []
    a.pipe_notify(nn.PIPE_EV_ADD_POST, lambda p: added.append(p.id))
    a.pipe_notify(nn.PIPE_EV_REM_POST, lambda p: removed.append(p.id))
    with b:
        b.connect(a.endpoint_address(a.bind(new_url())))
        wait_until(lambda: len(added) == 1, what="ADD_POST")
        a.close()
        assert removed == added
