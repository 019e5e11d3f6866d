"""The shared poller conformance checks (nanomsg_core.testing.check_poller).

On Windows they run against the real ``iocp`` poller (the one place a
platform skip is right: the OS binding exists only there).  Everywhere else
the very same checks run against the completion logic over the fake port
that performs each overlapped call on real loopback sockets.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from nanomsg_core.testing import POLLER_CHECKS, check_poller
from nanomsg_iocp._fake import fake_poller

pytestmark = pytest.mark.timeout(60)


def _only(name: str) -> list[str]:
    return [n for n in POLLER_CHECKS if n != name]


@pytest.mark.skipif(sys.platform != "win32", reason="the IOCP binding runs on Windows only")
@pytest.mark.parametrize("name", sorted(POLLER_CHECKS))
def test_real_iocp_poller(name: str) -> None:
    from nanomsg_iocp._win32 import new_poller
    check_poller(new_poller, skip=_only(name))


@pytest.mark.parametrize("name", sorted(POLLER_CHECKS))
def test_completion_logic_over_the_socket_fake(name: str) -> None:
    check_poller(fake_poller, skip=_only(name))


@pytest.mark.skipif(sys.platform != "win32", reason="the IOCP binding runs on Windows only")
def test_iocp_is_the_default_poller_on_windows() -> None:
    import nanomsg_core as nn
    assert nn.get_registry().default_poller().name == "iocp"


def test_send_partial_accepts_a_send_pending_until_the_peer_reads() -> None:
    """The socket fake's send, like an overlapped WSASend, completes in full or
    stays pending: the check must run through that (it once waited for the
    first send to complete before anyone read, and hung)."""
    check_poller(fake_poller, skip=_only("send_partial"), timeout=20)


def test_send_partial_rejects_a_send_claiming_bytes_that_did_not_fit() -> None:
    def lying() -> Any:
        p = fake_poller()
        send = p.send

        def claim_all(sock: Any, bufs: Any, done: Any) -> None:
            total = sum(len(b) for b in bufs)
            send(sock, bufs, lambda n, e: done(total if e is None else n, e))
        p.send = claim_all  # type: ignore[method-assign]
        return p
    with pytest.raises(AssertionError, match=r"send_partial.*(all of it|not the bytes)"):
        check_poller(lying, skip=_only("send_partial"), timeout=3)
