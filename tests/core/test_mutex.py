"""The socket's and the connection reads' lock (``nanomsg_core._mutex``):
``threading.Lock``'s behaviour in both builds, and in the compiled one a
direct hand-off, so that a thread taking the lock in a loop cannot keep it
from a waiter."""

from __future__ import annotations

import threading
import time

import pytest

import nanomsg_core
from nanomsg_core._mutex import Mutex, new_lock

compiled_only = pytest.mark.skipif(not nanomsg_core.COMPILED,
                                   reason="the pure build hands out threading.Lock")


def test_the_build_decides_which_lock() -> None:
    lock = new_lock()
    if nanomsg_core.COMPILED:
        assert type(lock) is Mutex
    else:
        assert type(lock) is type(threading.Lock())


@pytest.mark.timeout(30)
@pytest.mark.parametrize("make", [new_lock, Mutex], ids=["new_lock", "Mutex"])
def test_one_thread_sees_a_lock(make: object) -> None:
    lock = make()  # type: ignore[operator]
    assert not lock.locked()
    assert lock.acquire()
    assert lock.locked()
    assert not lock.acquire(False)
    start = time.monotonic()
    assert not lock.acquire(True, 0.05)
    assert time.monotonic() - start >= 0.04
    lock.release()
    assert not lock.locked()
    with pytest.raises(RuntimeError):
        lock.release()
    with lock:
        assert lock.locked()
    assert not lock.locked()


@compiled_only
@pytest.mark.timeout(60)
def test_a_waiter_that_timed_out_leaves_no_claim() -> None:
    lock = new_lock()
    lock.acquire()
    gave_up = threading.Event()

    def wait_briefly() -> None:
        assert not lock.acquire(True, 0.05)
        gave_up.set()

    t = threading.Thread(target=wait_briefly)
    t.start()
    assert gave_up.wait(30)
    t.join(30)
    lock.release()                  # nobody waits: it is free, not handed to a ghost
    assert not lock.locked()
    assert lock.acquire(False)
    lock.release()


@compiled_only
@pytest.mark.timeout(60)
def test_a_looping_holder_hands_the_lock_to_a_waiter() -> None:
    """The holder lets the GIL go while it holds the lock (as a sender's
    write does), and takes the lock again at once after each release: the
    waiter still gets it (a lock a waiter must win back with the GIL would
    starve it)."""
    lock = new_lock()
    stop = threading.Event()
    rounds = [0]

    def loop() -> None:
        while not stop.is_set():
            with lock:
                time.sleep(0.0005)  # the GIL goes while the lock is held
                rounds[0] += 1

    holder = threading.Thread(target=loop)
    holder.start()
    try:
        deadline = time.monotonic() + 30
        while rounds[0] < 5 and time.monotonic() < deadline:
            time.sleep(0.001)
        for _ in range(20):
            assert lock.acquire(True, 10), "the waiter never got the lock"
            lock.release()
    finally:
        stop.set()
        holder.join(30)


@compiled_only
@pytest.mark.timeout(120)
def test_threads_exclude_each_other() -> None:
    lock = new_lock()
    count = [0]
    inside = [0]
    clash = []

    def work() -> None:
        for i in range(3000):
            with lock:
                inside[0] += 1
                if inside[0] != 1:
                    clash.append(inside[0])
                seen = count[0]
                if i % 7 == 0:
                    time.sleep(0)   # let another thread run while it is held
                count[0] = seen + 1
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(100)
    assert not clash
    assert count[0] == 4 * 3000
    assert not lock.locked()
