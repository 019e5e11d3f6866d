"""Registers the ``iocp`` poller (win32 only) and, on win32, ``ipc://`` over named pipes.

The poller is registered everywhere with ``platforms=("win32",)``, so the
registry only ever picks it on Windows (priority 10 beats the selectors
poller's 0).  The named-pipe transport is registered on win32 only, and
``tryfirst`` so that it is the first ``ipc`` registration (the registry
keeps the first one): nanomsg-ipc's Unix-socket ``ipc`` answers
``EPROTONOSUPPORT`` there.
"""

from __future__ import annotations

import sys

from nanomsg_core import Registry, hookimpl
from nanomsg_core.interfaces import Poller


def _new_poller() -> Poller:
    from ._win32 import new_poller
    return new_poller()


@hookimpl(tryfirst=True)
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_poller("iocp", _new_poller, platforms=("win32",), priority=10,
                        distribution="nanomsg-iocp")
    if sys.platform == "win32":
        from ._named_pipe import NamedPipeTransport
        from ._win32 import Win32Pipes
        registry.add_transport(NamedPipeTransport(Win32Pipes()))
