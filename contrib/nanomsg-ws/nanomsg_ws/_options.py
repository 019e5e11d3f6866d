"""The option numbers of level ``WS`` (nanomsg's, from ``nanomsg/ws.h``)."""

from __future__ import annotations

__all__ = ["WS_MSG_TYPE", "WS_MSG_TYPE_BINARY", "WS_MSG_TYPE_TEXT"]

WS_MSG_TYPE = 1
"""``(WS, WS_MSG_TYPE)``: the WebSocket frame type of sent messages."""
WS_MSG_TYPE_TEXT = 0x01
WS_MSG_TYPE_BINARY = 0x02
