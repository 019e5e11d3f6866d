"""Registers the ws:// and wss:// transports and their options with nanomsg_core."""

from __future__ import annotations

import ssl

from nanomsg_core import TLS, TLS_CONFIG, WS, OptionSpec, Registry, hookimpl
from nanomsg_core.stream import KEEPALIVE
from nanomsg_core.stream.tls import SERVER_NAME

from ._options import WS_MSG_TYPE, WS_MSG_TYPE_BINARY
from ._ws import WsTransport, WssTransport

TLS_CONFIG_SPEC = OptionSpec(
    TLS, TLS_CONFIG, "TLS_CONFIG", None, type=ssl.SSLContext,
    doc="the ssl.SSLContext of wss:// (and tls+tcp://) endpoints made after it is set; "
        "a dialer without one verifies certificates with ssl.create_default_context()")
MSG_TYPE_SPEC = OptionSpec(
    WS, WS_MSG_TYPE, "WS_MSG_TYPE", WS_MSG_TYPE_BINARY, minimum=WS_MSG_TYPE_BINARY,
    maximum=WS_MSG_TYPE_BINARY,
    doc="nanomsg's NN_WS_MSG_TYPE: the frame type of sent messages; only 0x02 (binary) is "
        "supported, as the SP mapping recommends (text frames are accepted on receive)")


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_transport(WsTransport())
    registry.add_transport(WssTransport())
    registry.add_option(TLS_CONFIG_SPEC)
    registry.add_option(MSG_TYPE_SPEC)
    registry.add_option(SERVER_NAME)
    registry.add_option(KEEPALIVE)
