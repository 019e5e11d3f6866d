"""nanomsg-ws: the WebSocket transports (``ws://HOST:PORT/PATH``, ``wss://...``)
for nanomsg_core, wire-compatible with C nanomsg and NNG (sp-websocket-mapping-01)."""

from __future__ import annotations

from ._conn import WsConfig, WsUpgrade
from ._frames import WsCodec, WsDecoder
from ._options import WS_MSG_TYPE, WS_MSG_TYPE_BINARY, WS_MSG_TYPE_TEXT
from ._url import WsUrl, parse_url
from ._ws import WsDialer, WsListener, WsTransport, WssTransport, subprotocol_name

__all__ = [
    "WS_MSG_TYPE", "WS_MSG_TYPE_BINARY", "WS_MSG_TYPE_TEXT",
    "WsCodec", "WsConfig", "WsDecoder", "WsDialer", "WsListener", "WsTransport", "WsUpgrade",
    "WsUrl",
    "WssTransport", "parse_url", "subprotocol_name",
]
