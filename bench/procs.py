"""Child processes: every measurement and every peer is ``run.py --_child
ROLE SPEC`` (SPEC a JSON object). A child says ``READY <text>`` and
``RESULT <json>`` on its stdout, reads commands (``GO``) from its stdin and
takes stdin's end as the order to finish. Each runs in its own process
group, carries a watchdog, and is killed by the parent on any trouble."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Optional

RUN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run.py")
_ALIVE: list["Child"] = []


class ChildError(RuntimeError):
    pass


def watchdog(seconds: float, what: str) -> None:
    def fire() -> None:
        sys.stderr.write("bench: %s watchdog fired after %.0fs\n" % (what, seconds))
        sys.stderr.flush()
        os._exit(3)
    t = threading.Timer(seconds, fire)
    t.daemon = True
    t.start()


class Child:
    def __init__(self, role: str, spec: dict[str, Any], timeout: float,
                 python: Optional[str] = None) -> None:
        """*python*: the interpreter to run it (default this one's; a child's own
        children inherit theirs, so one build's processes all run one build)."""
        spec = dict(spec, timeout=timeout)
        self.role = role
        self.p = subprocess.Popen([python or sys.executable, RUN, "--_child", role,
                                   json.dumps(spec)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True)
        self.buf = b""
        _ALIVE.append(self)

    def line(self, wait: float) -> str:
        fd = self.p.stdout.fileno()  # type: ignore[union-attr]
        deadline = time.monotonic() + wait
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            r, _, _ = select.select([fd], [], [], max(0.0, left))
            if not r:
                raise ChildError("%s: no answer after %.0fs" % (self.role, wait))
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                self.p.wait()
                err = self.p.stderr.read().decode(errors="replace")  # type: ignore[union-attr]
                tail = " | ".join(err.strip().splitlines()[-3:])
                raise ChildError("%s exited rc=%s: %s" % (self.role, self.p.returncode,
                                                         tail[-600:]))
            self.buf += chunk
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln.decode()

    def expect(self, word: str, wait: float) -> str:
        ln = self.line(wait)
        if not ln.startswith(word):
            raise ChildError("%s said %r, expected %s" % (self.role, ln[:300], word))
        return ln[len(word):].strip()

    def ready(self, wait: float = 30.0) -> str:
        return self.expect("READY", wait)

    def result(self, wait: float) -> Any:
        return json.loads(self.expect("RESULT", wait))

    def tell(self, text: str) -> None:
        assert self.p.stdin is not None
        self.p.stdin.write(text.encode() + b"\n")
        self.p.stdin.flush()

    def finish(self, wait: float = 10.0) -> None:
        try:
            self.p.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass
        try:
            self.p.wait(wait)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def kill(self) -> None:
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            pass
        if self in _ALIVE:
            _ALIVE.remove(self)


def kill_all() -> None:
    for c in list(_ALIVE):
        c.kill()


# ---------------------------------------------------------------- child side

def say(word: str, payload: Any = "") -> None:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    sys.stdout.write("%s %s\n" % (word, text))
    sys.stdout.flush()


def read_command(timeout: Optional[float] = None) -> Optional[str]:
    """One line from the parent, or None at end of stdin (or timeout)."""
    fd = sys.stdin.fileno()
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return None
    ln = sys.stdin.readline()
    return ln.strip() if ln else None


def wait_parent_done(timeout: float) -> None:
    """Block until the parent closes our stdin (or timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([sys.stdin.fileno()], [], [], deadline - time.monotonic())
        if r and not sys.stdin.readline():
            return


def parent_done_event() -> threading.Event:
    """An event set when the parent closes our stdin."""
    ev = threading.Event()

    def watch() -> None:
        while sys.stdin.readline():
            pass
        ev.set()
    threading.Thread(target=watch, daemon=True).start()
    return ev
