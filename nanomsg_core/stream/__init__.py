"""The stream-transport kit: what every byte-stream transport is built from.

TCP, IPC, TLS and (for its handshake and pipe) WebSocket share one
implementation of the SP mapping over a connected byte stream.  A transport
built on this kit only knows its addresses:

* :class:`StreamListener` / :class:`StreamDialer` -- the generic ``bind``
  and ``connect`` halves.  Subclass them with ``transport``, ``framing``,
  :meth:`StreamListener.open_socket` / :meth:`StreamDialer.resolve`, and
  optionally ``configure`` (socket options), ``addresses`` and
  ``start_handshake`` (a step of your own before the SP header, e.g. TLS).
* :class:`Handshake` -- the 8-byte SP header exchange with its timeout.
* :class:`StreamPipe` -- the framed connection: gathered non-blocking
  writes from the sender's thread, batched reads on the engine thread,
  back-pressure, and the direct-receive fast path.  Who reads it is one
  :class:`~nanomsg_core.stream.reads.ReadState` with its transitions in
  :mod:`nanomsg_core.stream.reads`.
* :mod:`nanomsg_core.stream.errors` -- the one place OS and handshake
  failures become :class:`~nanomsg_core.NanomsgError`.
* :mod:`nanomsg_core.stream.inet` -- ``HOST:PORT`` URLs with nanomsg's rules
  and errnos, and :class:`InetListener` / :class:`InetDialer` that bind and
  resolve them: what tcp, tls+tcp and ws share.

* :class:`ByteStream` -- the seam a transport supplies: a connected byte
  stream with completion-style ``read``/``write``/``try_write``/``close``.
  :class:`SocketStream` is an OS socket's; :class:`Handshake` and
  :class:`StreamPipe` take any stream, so TLS in memory, a pair of pipes or
  an in-memory pair get the whole lifecycle above written once.
  :class:`TlsStream` is TLS in memory over any other stream (tls+tcp's).

The frame codecs themselves are sans-IO, in :mod:`nanomsg_core.wire`.
``docs/plugins.md`` walks through writing a transport with this kit.
"""

from __future__ import annotations

from .dialer import DialTarget, Resolved, StreamDialer
from .endpoint import Shake, StreamEndpoint
from .errors import closed_in_handshake, from_oserror, handshake_timeout, wrong_protocol
from .handshake import HANDSHAKE_TIMEOUT, DialDone, Handshake
from .inet import (KEEPALIVE, BindTarget, InetDialer, InetListener, address_literal,
                   apply_keepalive, bind_target, connect_host, format_url, ipv4only, malformed,
                   parse_port, sockaddr, split_host_port, valid_hostname)
from .listener import LISTEN_BACKLOG, StreamListener
from .pipe import BUSY_HOLD, IDLE_RETURN, RECV_BUFFER, StreamPipe
from .reads import ReadEvent, Reads, ReadState, ReadStateError
from .socket_stream import SocketStream
from .streams import ByteStream, CancelRead, ReadCancelled, RecvCanceller
from .tls import TlsStream, tls_error

__all__ = [
    "KEEPALIVE", "BindTarget", "ByteStream", "CancelRead", "DialDone", "DialTarget", "HANDSHAKE_TIMEOUT", "Handshake",
    "BUSY_HOLD", "IDLE_RETURN", "InetDialer", "InetListener", "LISTEN_BACKLOG", "RECV_BUFFER",
    "ReadCancelled", "ReadEvent", "ReadState", "ReadStateError", "Reads", "RecvCanceller",
    "Resolved", "Shake",
    "SocketStream", "StreamDialer", "StreamEndpoint", "StreamListener", "StreamPipe",
    "TlsStream", "address_literal", "apply_keepalive",
    "bind_target", "closed_in_handshake", "connect_host", "format_url", "from_oserror",
    "handshake_timeout", "ipv4only", "malformed", "parse_port", "sockaddr",
    "split_host_port", "tls_error", "valid_hostname", "wrong_protocol",
]
