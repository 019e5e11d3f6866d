"""Observer hooks: each fires with the right arguments, each is documented,
and an unimplemented hook is never called."""

from __future__ import annotations

import inspect
import threading
from typing import Any

import nanomsg_core as nn
from nanomsg_core import hookspecs
from nanomsg_core.registry import _hooks
from tests.support import Urls, sock, wait_until


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def _add(self, name: str, **kw: Any) -> None:
        with self.lock:
            self.calls.append((name, kw))

    def names(self, sock_: nn.Socket) -> list[str]:
        with self.lock:
            return [n for n, kw in self.calls if kw.get("socket") is sock_]

    @nn.hookimpl
    def nanomsg_core_socket_opened(self, socket: nn.Socket) -> None:
        self._add("opened", socket=socket)

    @nn.hookimpl
    def nanomsg_core_socket_closed(self, socket: nn.Socket) -> None:
        self._add("closed", socket=socket)

    @nn.hookimpl
    def nanomsg_core_pipe_event(self, socket: nn.Socket, pipe: nn.Pipe, event: int) -> None:
        self._add("pipe%d" % event, socket=socket, pipe=pipe)

    @nn.hookimpl
    def nanomsg_core_message_sent(self, socket: nn.Socket, message: nn.Message) -> None:
        self._add("sent", socket=socket, body=message.body)

    @nn.hookimpl
    def nanomsg_core_message_received(self, socket: nn.Socket, message: nn.Message) -> None:
        self._add("received", socket=socket, body=message.body)

    @nn.hookimpl
    def nanomsg_core_endpoint_bound(self, socket: nn.Socket, endpoint: nn.Endpoint) -> None:
        self._add("bound", socket=socket, url=endpoint.bound_address)

    @nn.hookimpl
    def nanomsg_core_endpoint_connected(self, socket: nn.Socket, endpoint: nn.Endpoint,
                                        pipe: nn.Pipe) -> None:
        self._add("connected", socket=socket)

    @nn.hookimpl
    def nanomsg_core_endpoint_connect_failed(self, socket: nn.Socket, endpoint: nn.Endpoint,
                                             errno: int) -> None:
        self._add("connect_failed", socket=socket, errno=errno)


def _observer_specs() -> list[str]:
    return [n for n, f in inspect.getmembers(hookspecs, inspect.isfunction)
            if n.startswith("nanomsg_core_")]


def test_every_hook_is_documented_and_has_a_slot() -> None:
    specs = _observer_specs()
    assert len(specs) == 9
    for name in specs:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert len(doc) > 40, "hook %s needs documentation" % name
        if name != "nanomsg_core_register":
            assert name[len("nanomsg_core_"):] in _hooks._SLOTS, name
    assert len(_hooks._SLOTS) == len(specs) - 1


def test_unimplemented_hooks_are_not_called() -> None:
    for slot in _hooks._SLOTS:
        assert getattr(_hooks.HOOKS, slot) is None, slot


def test_hooks_fire(new_url: Urls) -> None:
    rec = Recorder()
    nn.register_plugin(rec)
    try:
        a, b = sock(nn.PAIR), sock(nn.PAIR)
        url = a.endpoint_address(a.bind(new_url()))
        b.connect(url)
        b.send(b"ping")
        assert a.recv() == b"ping"
        wait_until(lambda: "connected" in rec.names(b), what="connected hook")
        a.close()
        wait_until(lambda: "pipe3" in rec.names(b), what="REM_POST on b")
        b.close()
        names_a = rec.names(a)
        assert names_a[0] == "opened" and names_a[-1] == "closed"
        assert "bound" in names_a and "received" in names_a
        assert names_a.index("pipe1") < names_a.index("pipe2")
        assert "sent" in rec.names(b)
        bodies = [kw["body"] for n, kw in rec.calls if n in ("sent", "received")]
        assert bodies == [b"ping", b"ping"]
    finally:
        nn.unregister_plugin(rec)
    assert _hooks.HOOKS.message_sent is None


def test_connect_failed_hook_gets_the_errno(tcp_url: str) -> None:
    rec = Recorder()
    nn.register_plugin(rec)
    try:
        with sock(nn.PAIR) as s:
            s.connect(tcp_url)                 # nobody listens
            wait_until(lambda: "connect_failed" in rec.names(s), what="connect_failed")
            errnos = {kw["errno"] for n, kw in rec.calls if n == "connect_failed"}
            assert errnos == {nn.ECONNREFUSED}
    finally:
        nn.unregister_plugin(rec)


def test_a_failing_hook_does_not_break_the_socket(new_url: Urls) -> None:
    class Broken:
        @nn.hookimpl
        def nanomsg_core_message_sent(self, socket: nn.Socket, message: nn.Message) -> None:
            raise RuntimeError("observer bug")
    broken = Broken()
    nn.register_plugin(broken)
    try:
        a, b = sock(nn.PAIR), sock(nn.PAIR)
        with a, b:
            b.connect(a.endpoint_address(a.bind(new_url())))
            b.send(b"still works")
            assert a.recv() == b"still works"
    finally:
        nn.unregister_plugin(broken)
