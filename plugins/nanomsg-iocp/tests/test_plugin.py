"""What installing nanomsg-iocp registers, on this OS."""

from __future__ import annotations

import importlib
import sys

import pytest

import nanomsg_core as nn
import nanomsg_iocp

pytestmark = pytest.mark.timeout(60)


def test_poller_is_registered_for_win32_only() -> None:
    info = nn.get_registry().pollers["iocp"]
    assert info.platforms == ("win32",) and info.priority == 10
    assert info.distribution == "nanomsg-iocp"


def test_default_poller_on_this_platform() -> None:
    want = "iocp" if sys.platform == "win32" else "selectors"
    assert nn.get_registry().default_poller().name == want


def test_ipc_scheme_on_this_platform() -> None:
    tr = nn.get_registry().transports.get("ipc")
    if sys.platform == "win32":
        assert isinstance(tr, nanomsg_iocp.NamedPipeTransport)
    else:
        assert not isinstance(tr, nanomsg_iocp.NamedPipeTransport)


def test_the_os_binding_imports_everywhere() -> None:
    mod = importlib.import_module("nanomsg_iocp._win32")
    assert callable(mod.new_poller)


def test_public_names_are_sorted_and_exist() -> None:
    names = nanomsg_iocp.__all__
    assert names == sorted(names)
    for n in names:
        assert hasattr(nanomsg_iocp, n)


def test_on_win32_the_registry_picks_iocp_and_named_pipes() -> None:
    """Registration as Windows sees it (sys.platform patched in a fresh
    interpreter before the plugins load): the iocp poller is the default and
    the named-pipe transport is the first, kept, ipc registration even with
    nanomsg-ipc installed (tryfirst)."""
    import subprocess
    code = ("import sys, nanomsg_core as nn\n"
            "sys.platform = 'win32'\n"
            "r = nn.get_registry()\n"
            "print(type(r.transports['ipc']).__name__, r.default_poller().name)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=50)
    assert out.stdout.split() == ["NamedPipeTransport", "iocp"], out.stdout + out.stderr
