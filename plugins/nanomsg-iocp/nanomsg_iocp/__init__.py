"""nanomsg-iocp: the I/O completion port poller and ``ipc://`` over named
pipes, for nanomsg_core on Windows.

On win32 the ``iocp`` poller becomes the default (priority 10) and
``ipc://NAME`` maps to ``\\\\.\\pipe\\NAME``.  Elsewhere the package imports
and registers a poller that is never chosen; its logic
(:class:`CompletionPoller`) is tested there over the fake ports of
``nanomsg_iocp._fake``.
"""

from __future__ import annotations

from ._core import BusyError, Completion, CompletionPoller, HandleIO, Port, error_from_winerror
from ._named_pipe import NamedPipeTransport, pipe_name

__all__ = ["BusyError", "Completion", "CompletionPoller", "HandleIO", "NamedPipeTransport",
           "Port", "error_from_winerror", "pipe_name"]
