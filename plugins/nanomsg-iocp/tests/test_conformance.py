"""The shared poller conformance checks (nanomsg_core.testing.check_poller).

On Windows they run against the real ``iocp`` poller (the one place a
platform skip is right: the OS binding exists only there).  Everywhere else
the very same checks run against the completion logic over the fake port
that performs each overlapped call on real loopback sockets.
"""

from __future__ import annotations

import sys

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
