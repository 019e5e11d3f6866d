"""Registers the ipc:// and abstract:// (Linux) transports with nanomsg_core."""

from __future__ import annotations

import sys

from nanomsg_core import Registry, hookimpl

from ._abstract import AbstractTransport
from ._ipc import IpcTransport
from ._lockdown import GROUP, MODE, OWNER


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    if sys.platform != "win32":     # Windows: ipc:// is a named pipe (nanomsg-iocp)
        registry.add_transport(IpcTransport())
    registry.add_transport(AbstractTransport())
    for spec in (MODE, OWNER, GROUP):
        registry.add_option(spec)
