"""The framed pipe: one established byte-stream connection.

Theory of operation.  Everything that waits runs on the engine thread through
the completion-shaped poller; the exceptions are :meth:`StreamPipe.send`,
which user threads call (serialised by their socket's lock), and
:meth:`StreamPipe.direct_recv`, a user thread reading for itself.  The pipe
is cut where the concepts are:

* **Parts and end** (:mod:`.pipebase`): the fields, the capabilities that
  need no I/O, and the teardown (``poller.cancel`` then ``close``).
* **Send** (:mod:`.sending`): with nothing queued ``send`` writes the frame
  at once with one non-blocking gathered write, no thread hand-off; a
  stream of small sends is batched into one buffer that the engine writes
  in one syscall; the queue is refused above ``SNDBUF`` and wakes the
  sender at half.  ``close`` keeps writing what is queued for up to
  ``LINGER`` ms (nanomsg's option, 1 s by default; 0 drops them), reading
  no more.
* **Receive** (:mod:`.receiving`): who reads -- the engine, a paused
  nobody, a direct reader, kept by one, closing -- is one
  :class:`~nanomsg_core.stream.reads.ReadState`, and every decision about
  it is the table in :mod:`nanomsg_core.stream.reads`: the pipe reports
  events and executes the actions returned.  The engine reads into the
  :class:`~nanomsg_core.wire.FrameDecoder`'s buffer and delivers every
  complete frame; a full receive queue pauses reading until
  ``resume_recv``.  A thread blocked in ``recv`` on a socket whose only
  connection this is reads it itself and keeps it between receives.
* **Idle connections** (:mod:`.idle`): a per-engine keeper returns kept
  connections to the engine after :data:`IDLE_RETURN`, and a trimmer
  shrinks grown receive buffers after a second without reads.
* **Codecs** (:mod:`.codec`): a mapping whose framing is no length prefix
  (WebSocket) is a :class:`CodecPipe`, with a
  :class:`~nanomsg_core.wire.MessageCodec` instead of a ``Framing``.

EOF, an OS error or a wire-format violation tears the connection down and
calls ``on_closed`` once; ``close`` (any thread) calls nothing back.
"""

from __future__ import annotations

from .codec import CodecPipe
from .idle import BUSY_HOLD, IDLE_RETURN, TRIM_AFTER  # noqa: F401  (TRIM_AFTER: as before the split)
from .pipebase import RECV_BUFFER
from .receiving import StreamPipe
from .sending import BATCH_WINDOW  # noqa: F401  (as before the split)

__all__ = ["BUSY_HOLD", "IDLE_RETURN", "RECV_BUFFER", "CodecPipe", "StreamPipe"]
