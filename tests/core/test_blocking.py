"""Blocking, timeouts, back-pressure and close: EAGAIN, ETIMEDOUT, EBADF, ETERM."""

from __future__ import annotations

import errno
import subprocess
import sys
import threading
import time
from typing import Any, Callable

import pytest

import nanomsg_core as nn


def raises(errnum: int, fn: Callable[..., Any], *args: Any) -> nn.NanomsgError:
    with pytest.raises(nn.NanomsgError) as ei:
        fn(*args)
    assert ei.value.errno == errnum, ei.value
    return ei.value


def test_dontwait_is_eagain(inproc_url: str) -> None:
    with nn.Socket(nn.AF_SP, nn.PAIR) as a, nn.Socket(nn.AF_SP, nn.PAIR) as b:
        raises(errno.EAGAIN, a.recv, nn.DONTWAIT)
        raises(errno.EAGAIN, a.send, b"no peer", nn.DONTWAIT)
        a.bind(inproc_url)
        b.connect(inproc_url)
        raises(errno.EAGAIN, a.recv, nn.DONTWAIT)
        raises(errno.EAGAIN, a.recv_msg, nn.DONTWAIT)
        b.send(b"x")
        assert a.recv(nn.DONTWAIT) == b"x"


@pytest.mark.parametrize("timeout_ms", [50, 300])
def test_rcvtimeo(timeout_ms: int) -> None:
    with nn.Socket(nn.AF_SP, nn.PAIR) as s:
        s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, timeout_ms)
        t0 = time.monotonic()
        raises(errno.ETIMEDOUT, s.recv)
        elapsed = (time.monotonic() - t0) * 1000
        assert timeout_ms * 0.9 <= elapsed < timeout_ms + 1000


def test_sndtimeo_without_peer() -> None:
    with nn.Socket(nn.AF_SP, nn.PAIR) as s:
        s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 100)
        t0 = time.monotonic()
        raises(errno.ETIMEDOUT, s.send, b"x")
        assert 0.09 <= time.monotonic() - t0 < 1.1


def test_zero_timeout_is_immediate() -> None:
    with nn.Socket(nn.AF_SP, nn.PAIR) as s:
        s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 0)
        raises(errno.ETIMEDOUT, s.recv)


def test_full_queue_blocks_then_resumes(inproc_url: str) -> None:
    with nn.Socket(nn.AF_SP, nn.PAIR) as a, nn.Socket(nn.AF_SP, nn.PAIR) as b:
        a.setsockopt(nn.SOL_SOCKET, nn.RCVBUF, 1000)
        a.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
        b.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 5000)
        a.bind(inproc_url)
        b.connect(inproc_url)
        sent = 0
        while True:                                # fill: 100-byte messages
            try:
                b.send(b"m" * 100, nn.DONTWAIT)
            except nn.NanomsgError as e:
                assert e.errno == errno.EAGAIN
                break
            sent += 1
            assert sent < 100, "RCVBUF did not bound the queue"
        assert sent >= 10                          # ~RCVBUF worth went in
        started, done = threading.Event(), threading.Event()

        def blocked_sender() -> None:
            started.set()
            b.send(b"last")
            done.set()
        th = threading.Thread(target=blocked_sender)
        th.start()
        started.wait(5)
        assert not done.wait(0.2)                  # still blocked: queue is full
        for _ in range(sent):
            assert a.recv() == b"m" * 100
        assert done.wait(5)                        # resumed once drained
        assert a.recv() == b"last"
        th.join(5)


def test_calls_after_close_are_ebadf(inproc_url: str) -> None:
    s = nn.Socket(nn.AF_SP, nn.PAIR)
    s.close()
    s.close()                                       # idempotent
    for fn, args in [(s.send, (b"x",)), (s.recv, ()), (s.bind, (inproc_url,)),
                     (s.connect, (inproc_url,)), (s.send_msg, (nn.Message(b"x"),)),
                     (s.recv_msg, ()), (s.setsockopt, (nn.SOL_SOCKET, nn.RCVTIMEO, 1)),
                     (s.getsockopt, (nn.SOL_SOCKET, nn.RCVTIMEO)), (s.shutdown, (1,))]:
        raises(errno.EBADF, fn, *args)


@pytest.mark.parametrize("op", ["recv", "send"])
def test_close_wakes_blocked_call_with_ebadf(op: str) -> None:
    s = nn.Socket(nn.AF_SP, nn.PAIR)
    errors: list[BaseException] = []
    waiting = threading.Event()

    def blocked() -> None:
        waiting.set()
        try:
            s.recv() if op == "recv" else s.send(b"x")
        except BaseException as e:  # noqa: BLE001 - recorded for the assert
            errors.append(e)
    ths = [threading.Thread(target=blocked) for _ in range(3)]
    for th in ths:
        th.start()
    waiting.wait(5)
    deadline = time.monotonic() + 5          # wait until all three are parked
    while len(s._rwaiters if op == "recv" else s._swaiters) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    s.close()
    for th in ths:
        th.join(5)
        assert not th.is_alive()
    assert len(errors) == 3
    assert all(isinstance(e, nn.NanomsgError) and e.errno == errno.EBADF for e in errors)


def test_term_fails_blocked_and_later_calls() -> None:
    code = r"""
import errno, threading, nanomsg_core as nn
s = nn.Socket(nn.AF_SP, nn.PAIR)
out = []
def blocked():
    try: s.recv()
    except nn.NanomsgError as e: out.append(e.errno)
th = threading.Thread(target=blocked); th.start()
import time
while not s._rwaiters: time.sleep(0.001)
nn.term()
th.join(5)
assert out == [nn.ETERM], out
for fn in (lambda: s.send(b"x"), lambda: nn.Socket(nn.AF_SP, nn.PAIR)):
    try: fn()
    except nn.NanomsgError as e: assert e.errno == nn.ETERM, e
    else: raise AssertionError("no ETERM")
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30)
    assert out.stdout.strip() == "ok", out.stderr
