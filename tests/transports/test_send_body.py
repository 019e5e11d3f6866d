"""A stream pipe's ``send_body`` (no Message, prefix from a table, batched
inline) puts exactly the bytes ``send(Message)`` does on the wire."""

from __future__ import annotations

import threading

import pytest

import nanomsg_core as nn
from nanomsg_core.stream import StreamPipe
from tests.support import wait_until
from tests.transports.helpers import frame, raw_listen, read_exact

PULL_HDR = b"\x00SP\x00\x00\x51\x00\x00"
# around the table's edge (1024), empty, and one frame far above it; each
# twice in a row, so that both the direct write and the batch are taken
SIZES = [0, 1, 63, 64, 1023, 1024, 1025, 4096, 70000] * 2
BURST = 400


@pytest.mark.timeout(30)
def test_push_send_body_wire_bytes(url: str, sockets: list[nn.Socket]) -> None:
    push = nn.Socket(nn.AF_SP, nn.PUSH, send_timeout=5000)
    sockets.append(push)
    lsock = raw_listen(url)
    with lsock:
        push.connect(url)
        conn, _ = lsock.accept()
        with conn:
            conn.settimeout(10)
            conn.sendall(PULL_HDR)
            read_exact(conn, 8)
            wait_until(lambda: push.get_statistic(nn.STAT_CURRENT_CONNECTIONS) == 1)
            # one stream pipe: PUSH sends through that pipe's own send_body
            send_body = push._proto.send_body       # type: ignore[attr-defined]
            assert isinstance(getattr(send_body, "__self__", None), StreamPipe)
            payloads = [bytes([i % 251]) * size for i, size in enumerate(SIZES)]
            payloads += [b"%05d" % i + b"x" * 59 for i in range(BURST)]    # a stream of sends
            expected = b"".join(frame(url, p) for p in payloads)
            got: list[bytes] = []
            reader = threading.Thread(target=lambda: got.append(read_exact(conn, len(expected))))
            reader.start()          # read while sending: never more than the buffers hold
            for p in payloads:
                push.send(p)
            reader.join(20)
            assert got == [expected]
            assert push.get_statistic(nn.STAT_MESSAGES_SENT) == len(payloads)
