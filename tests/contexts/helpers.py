"""How the context tests open a context (one place to switch to ``sock.context()``)."""

from __future__ import annotations

import nanomsg_core as nn
from nanomsg_core._context import Context, open_context


def context(sock: nn.Socket) -> Context:
    """A new context of *sock*: ``sock.context()`` once the socket has it."""
    method = getattr(sock, "context", None)
    if method is not None:
        return method()                 # type: ignore[no-any-return]
    return open_context(sock)
