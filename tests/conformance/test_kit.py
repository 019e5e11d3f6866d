"""The conformance kit fails broken implementations with messages naming the
broken rule, and its pytest fixtures do what they promise."""

from __future__ import annotations

import errno
import os
from typing import Any, Callable, Optional

import pytest

import nanomsg_core as nn
from nanomsg_core.interfaces import (EndpointContext, PipeEvents, Poller, ProtocolHost,
                                     ProtocolPipe, TransportPipe)
from nanomsg_core.protokit import ProtocolBase
from nanomsg_core.pytest_plugin import UrlFactory
from nanomsg_core.testing import (POLLER_CHECKS, PROTOCOL_CHECKS, ManualHost, check_poller,
                                  check_protocol, check_transport)


pytest_plugins = ["pytester"]


def only(checks: dict[str, Any], name: str) -> set[str]:
    return set(checks) - {name}


# -- protocols ------------------------------------------------------------------

class Careless(ProtocolBase):
    """Forgets removed pipes, claims it can always send, arms a timer it never
    cancels, and answers unknown options."""

    NAME = "CARELESS"

    def __init__(self, host: ProtocolHost) -> None:
        self.host = host
        self.pipes: list[ProtocolPipe] = []

    def add_pipe(self, pipe: ProtocolPipe) -> bool:
        self.pipes.append(pipe)
        return True

    def remove_pipe(self, pipe: ProtocolPipe) -> None:
        pass

    def send(self, msg: nn.Message) -> bool:
        self.host.arm_timer("resend", 1000)
        return any(p.send(msg) for p in self.pipes)

    def recv(self) -> Optional[nn.Message]:
        for p in self.pipes:
            m = p.recv()
            if m is not None:
                return m
        return None

    def can_send(self) -> bool:
        return True

    def can_recv(self) -> bool:
        return any(p.can_recv() for p in self.pipes)

    def get_option(self, option: int) -> Any:
        return None


@pytest.mark.parametrize("check, words", [
    ("pipe_bookkeeping", "removed"),
    ("send_when_full", "can_send() said True"),
    ("unknown_options", "ENOPROTOOPT"),
    ("close_cancels_timers", "timers armed"),
])
def test_check_protocol_names_the_broken_rule(check: str, words: str) -> None:
    with pytest.raises(AssertionError) as ei:
        check_protocol(Careless, Careless, skip=only(PROTOCOL_CHECKS, check))
    assert "check_protocol[%s]" % check in str(ei.value) and words in str(ei.value)


def test_check_protocol_catches_can_recv_disagreeing() -> None:
    class Deaf(Careless):
        def can_recv(self) -> bool:
            return False
    with pytest.raises(AssertionError, match=r"exchange_with_peer.*can_recv\(\) said False"):
        check_protocol(Deaf, Deaf, skip=only(PROTOCOL_CHECKS, "exchange_with_peer"))


def test_check_protocol_rejects_non_nanomsg_errors() -> None:
    class Raising(Careless):
        def recv(self) -> Optional[nn.Message]:
            raise KeyError("oops")
    with pytest.raises(AssertionError, match="only NanomsgError"):
        check_protocol(Raising, skip=only(PROTOCOL_CHECKS, "recv_empty"))


def test_check_protocol_rejects_unknown_skip_names() -> None:
    with pytest.raises(ValueError, match="nonsense"):
        check_protocol("pair", skip={"nonsense"})


def test_nn_manual_host_is_a_manual_host(nn_manual_host: ManualHost) -> None:
    assert isinstance(nn_manual_host, ManualHost) and nn_manual_host.now() == 0


# -- pollers --------------------------------------------------------------------

def broken_poller(what: str) -> Callable[[], Poller]:
    """The default poller with ``cancel`` or ``wakeup`` doing nothing."""
    base = nn.get_registry().default_poller().factory
    if isinstance(base, type):      # a subclass: a compiled poller's methods are read-only
        return type("Broken", (base,), {what: lambda self, *args: None})

    def make() -> Poller:
        p = base()
        setattr(p, what, lambda *args: None)
        return p
    return make


@pytest.mark.parametrize("what", ["cancel", "wakeup"])
def test_check_poller_catches_a_broken_poller(what: str) -> None:
    with pytest.raises(AssertionError, match=r"check_poller\[%s\]" % what):
        check_poller(broken_poller(what), skip=only(POLLER_CHECKS, what), timeout=2.0)


# -- transports -----------------------------------------------------------------

class LossyPipe:
    """Wraps an inproc pipe and silently drops every 100th message."""

    transport = "lossy"

    def __init__(self, inner: TransportPipe) -> None:
        self.inner = inner
        self.local_address = inner.local_address
        self.remote_address = inner.remote_address
        self.peer_protocol = inner.peer_protocol
        self.sent = 0

    def start(self, events: PipeEvents) -> None:
        self.inner.start(events)

    def send(self, msg: nn.Message) -> bool:
        self.sent += 1
        return True if self.sent % 100 == 0 else self.inner.send(msg)

    def can_send(self) -> bool:
        return self.inner.can_send()

    def resume_recv(self) -> None:
        self.inner.resume_recv()

    def close(self) -> None:
        self.inner.close()


def _inner(url: str) -> str:
    return "inproc://lossy-" + url.partition("://")[2]


class LossyTransport:
    scheme = "lossy"

    def new_dialer(self, url: str, endpoint: EndpointContext) -> Any:
        inner = nn.get_registry().transport("inproc://").new_dialer(_inner(url), endpoint)

        class Dialer:
            def dial(self, done: Callable[[Optional[TransportPipe], Optional[BaseException]],
                                          None]) -> None:
                inner.dial(lambda p, e: done(LossyPipe(p) if p is not None else None, e))

            def close(self) -> None:
                inner.close()
        return Dialer()

    def new_listener(self, url: str, endpoint: EndpointContext) -> Any:
        inner = nn.get_registry().transport("inproc://").new_listener(_inner(url), endpoint)

        class Listener:
            bound_address = url

            def listen(self, accepted: Callable[[TransportPipe], None]) -> None:
                inner.listen(lambda p: accepted(LossyPipe(p)))

            def close(self) -> None:
                inner.close()
        return Listener()


class LossyPlugin:
    @nn.hookimpl
    def nanomsg_core_register(self, registry: nn.Registry) -> None:
        registry.add_transport(LossyTransport())


def test_check_transport_catches_lost_messages() -> None:
    nn.register_plugin(LossyPlugin())
    names = iter(range(10 ** 6))
    new_url: Callable[[], str] = lambda: "lossy://t%d-%d" % (os.getpid(), next(names))
    check_transport(new_url, only=["bind_then_connect", "pipe_addresses"])
    with pytest.raises(AssertionError, match=r"check_transport\[ordered_messages\].*lost"):
        check_transport(new_url, only=["ordered_messages"], timeout=2.0)


def test_check_transport_reports_a_missing_feature(nn_url_factory: UrlFactory) -> None:
    inproc = UrlFactory("inproc")
    with pytest.raises(AssertionError, match=r"check_transport\[rcvmaxsize\]"):
        check_transport(inproc, only=["rcvmaxsize"])
    check_transport(nn_url_factory, only=["rcvmaxsize"])      # tcp by default


def test_check_transport_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="nonsense"):
        check_transport(UrlFactory("inproc"), only=["nonsense"])


# -- fixtures -------------------------------------------------------------------

def test_nn_url_factory_defaults_to_tcp_with_fresh_ports(nn_url_factory: UrlFactory) -> None:
    a, b = nn_url_factory(), nn_url_factory()
    assert a.startswith("tcp://127.0.0.1:") and a != b


@pytest.mark.parametrize("nn_url_factory", ["ipc"], indirect=True)
def test_nn_url_factory_ipc_in_a_temp_dir(nn_url_factory: UrlFactory) -> None:
    url = nn_url_factory()
    assert url.startswith("ipc://" + nn_url_factory.tmpdir + "/")
    assert os.path.isdir(nn_url_factory.tmpdir)


def test_url_factory_cleanup_removes_the_ipc_dir() -> None:
    f = UrlFactory("ipc")
    f()
    f.cleanup()
    assert not os.path.exists(f.tmpdir)


@pytest.mark.parametrize("nn_url_factory", ["inproc", "ws", "tls+tcp"], indirect=True)
def test_nn_url_factory_schemes(nn_url_factory: UrlFactory) -> None:
    url = nn_url_factory()
    assert url.startswith(nn_url_factory.scheme + "://") and url != nn_url_factory()


def test_nn_url_factory_unknown_scheme() -> None:
    with pytest.raises(ValueError, match="yourself"):
        UrlFactory("carrier-pigeon")


def test_nn_socket_bounds_blocking_calls(nn_socket: Callable[..., nn.Socket]) -> None:
    s = nn_socket(nn.PAIR, timeout_ms=50)
    assert s.getsockopt(nn.SOL_SOCKET, nn.RCVTIMEO) == 50
    with pytest.raises(nn.NanomsgError) as ei:
        s.recv()
    assert ei.value.errno == errno.ETIMEDOUT


def test_fixtures_clean_up_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner="""
        made = []

        def test_make(nn_socket):
            made.append(nn_socket(16))
            made.append(nn_socket("pair", 1))

        def test_after():
            assert made and all(s.closed for s in made)
    """)
    result = pytester.runpytest_inprocess("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
