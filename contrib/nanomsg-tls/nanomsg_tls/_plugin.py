"""Registers the tls+tcp:// transport and the ``(TLS, TLS_CONFIG)`` option."""

from __future__ import annotations

import ssl

from nanomsg_core import TLS, TLS_CONFIG, OptionSpec, Registry, hookimpl
from nanomsg_core.stream import KEEPALIVE
from nanomsg_core.stream.tls import SERVER_NAME

from ._tls import TlsTransport

CONFIG = OptionSpec(TLS, TLS_CONFIG, "TLS_CONFIG", None, type=ssl.SSLContext,
                    doc="the ssl.SSLContext of tls+tcp (and wss) endpoints made after it "
                        "is set; None: dialers verify with ssl.create_default_context(), "
                        "listeners refuse to bind")


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_transport(TlsTransport())
    registry.add_option(CONFIG)
    registry.add_option(SERVER_NAME)
    registry.add_option(KEEPALIVE)
