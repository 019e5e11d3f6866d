"""``nncat``'s run loop: nanocat's loops on :mod:`nanomsg_core`'s public API.

Exit status, as nanocat's: 0 when the loop ends (a receive timed out, a REQ
got its reply, a SURVEYOR's deadline passed, ``--count`` was reached), 1 for
a usage error, 2 for an unreadable ``--file`` (or TLS file), 3 when a
nanomsg call fails (``Can't bind: Address already in use``...).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import IO, Callable, Iterator, List, NoReturn, Optional, Sequence

import nanomsg_core as nn

from .formats import format_message
from .options import Options, UsageExit, parse
from .tls import TlsSetupError, make_context

__all__ = ["main", "run", "Fatal"]

_SEND_ONLY = (nn.PUB, nn.PUSH)
_RECV_ONLY = (nn.SUB, nn.PULL)
_PEER = (nn.BUS, nn.PAIR, nn.PAIR1)
_ASKING = (nn.SURVEYOR, nn.REQ)
_ANSWERING = (nn.REP, nn.RESPONDENT)
DRAIN_MS = 200
"""How long a sender waits before closing after its last send (see ``Cat.drain``)."""


class Fatal(Exception):
    """Stop with *text* on stderr and exit status *code*."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def _now_ms() -> int:
    return int(time.monotonic() * 1000)


def _sleep_ms(ms: int) -> None:
    if ms > 0:
        time.sleep(ms / 1000.0)


class Cat:
    def __init__(self, opts: Options, out: IO[bytes], err: IO[str],
                 stdin: Optional[IO[bytes]]) -> None:
        self.o = opts
        self.out = out
        self.err = err
        self.stdin = stdin
        self.sock: Optional[nn.Socket] = None
        self.sent = 0
        self.received = 0
        self._print_lock = threading.Lock()

    # -- errors --------------------------------------------------------------

    def fail(self, what: str, e: nn.NanomsgError, detail: bool = False) -> Fatal:
        """nanocat's ``nn_assert_errno``: ``WHAT: strerror``, exit status 3.

        With ``-v`` (or for nncat's own options, always) the library's own
        message follows in parentheses when it says more (which plugin to
        install, which value was wrong...).
        """
        code = e.errno or 0
        text = "%s: %s" % (what, nn.strerror(code))
        reason = e.strerror
        if (detail or self.o.verbose > 0) and reason and reason != nn.strerror(code):
            text += " (%s)" % reason
        return Fatal(3, text + "\n")

    # -- the socket ------------------------------------------------------------

    @property
    def s(self) -> nn.Socket:
        assert self.sock is not None
        return self.sock

    def set_recv_timeout(self, ms: int) -> None:
        try:
            self.s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, ms)
        except nn.NanomsgError as e:
            raise self.fail("Can't set recv timeout", e) from None

    def create(self) -> None:
        o = self.o
        try:
            self.sock = nn.Socket(nn.AF_SP, o.socket_type)
        except nn.NanomsgError as e:
            raise self.fail("Can't create socket", e) from None
        s = self.s
        if o.send_timeout >= 0:
            try:
                s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, _ms(o.send_timeout))
            except nn.NanomsgError as e:
                raise self.fail("Can't set send timeout", e) from None
        if o.recv_timeout >= 0:
            self.set_recv_timeout(_ms(o.recv_timeout))
        if o.socket_name is not None:
            try:
                s.setsockopt(nn.SOL_SOCKET, nn.SOCKET_NAME, o.socket_name)
            except nn.NanomsgError as e:
                raise self.fail("Can't set socket name", e) from None
        if o.socket_type == nn.SUB:
            for prefix in o.subscribe or [b""]:
                try:
                    s.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, prefix)
                except nn.NanomsgError as e:
                    raise self.fail("Can't subscribe", e) from None
        if o.recv_maxsz is not None:
            size = -1 if o.recv_maxsz <= 0 else o.recv_maxsz
            try:
                s.setsockopt(nn.SOL_SOCKET, nn.RCVMAXSIZE, size)
            except nn.NanomsgError as e:
                raise self.fail("Can't set recv max size", e, detail=True) from None
        for opt in o.sockopts:
            try:
                s.setsockopt(opt.level, opt.option, opt.value)
            except nn.NanomsgError as e:
                raise self.fail("Can't set option %s" % opt.label, e, detail=True) from None

    def _tls(self, server: bool) -> None:
        o = self.o
        try:
            ctx = make_context(server=server, cacert=o.cacert, cert=o.cert, key=o.key,
                               insecure=bool(o.insecure))
        except TlsSetupError as e:
            raise Fatal(2, "Can't set up TLS: %s\n" % e) from None
        try:
            self.s.setsockopt(nn.TLS, nn.TLS_CONFIG, ctx)
        except nn.NanomsgError as e:
            raise self.fail("Can't set TLS config", e, detail=True) from None

    def attach(self) -> None:
        o = self.o
        for server, urls, attach, what in ((True, o.bind, self.s.bind, "Can't bind"),
                                           (False, o.connect, self.s.connect, "Can't connect")):
            if o.tls and urls:
                self._tls(server=server)
            for url in urls:
                try:
                    attach(url)
                except nn.NanomsgError as e:
                    raise self.fail(what, e) from None

    # -- messages --------------------------------------------------------------

    def print_message(self, body: bytes) -> None:
        text = format_message(self.o.format, body)
        if text is None:
            return
        with self._print_lock:
            self.out.write(text)
            self.out.flush()

    def send(self, data: bytes) -> None:
        try:
            self.s.send(data)
        except nn.NanomsgError as e:
            if e.errno == nn.EAGAIN:
                self.err.write("Message not sent (EAGAIN)\n")
                self.err.flush()
            else:
                raise self.fail("Can't send", e) from None
        self.sent += 1

    def recv(self) -> Optional[bytes]:
        """A message; ``None`` when no more can come (ETIMEDOUT, EFSM)."""
        while True:
            try:
                body = self.s.recv()
            except nn.NanomsgError as e:
                if e.errno == nn.EAGAIN:
                    continue
                if e.errno in (nn.ETIMEDOUT, nn.EFSM):
                    return None
                raise self.fail("Can't recv", e) from None
            self.received += 1
            return body

    def drain(self) -> None:
        """Before closing after a last send: give queued messages time to leave.

        As nngcat does (200 ms), bounded by ``LINGER`` (``-o LINGER=0`` skips
        it): the library may still hold the last messages when the loop ends.
        """
        try:
            linger = int(self.s.getsockopt(nn.SOL_SOCKET, nn.LINGER))
        except (nn.NanomsgError, TypeError, ValueError):
            linger = DRAIN_MS
        _sleep_ms(DRAIN_MS if linger < 0 else min(linger, DRAIN_MS))

    def done_sending(self) -> bool:
        return self.o.count > 0 and self.sent >= self.o.count

    def lines(self) -> Iterator[bytes]:
        """``--stdin``: one message per line, without its LF or CRLF."""
        stream = self.stdin if self.stdin is not None else sys.stdin.buffer
        while True:
            line = stream.readline()
            if not line:
                return
            if line.endswith(b"\n"):
                line = line[:-1]
                if line.endswith(b"\r"):
                    line = line[:-1]
            yield line

    # -- nanocat's loops -------------------------------------------------------

    def send_loop(self) -> None:
        """PUB, PUSH: send the data; with ``-i`` again every SEC seconds."""
        assert self.o.data is not None
        interval = int(self.o.send_interval * 1000)
        while True:
            start = _now_ms()
            self.send(self.o.data)
            if self.done_sending():
                break
            if interval >= 0:
                _sleep_ms(start + interval - _now_ms())
            elif self.o.count <= 0:
                break
        self.drain()

    def recv_loop(self, limit: int = 0, while_alive: Optional[Callable[[], bool]] = None
                  ) -> None:
        """Print what comes until no more can (timeout, EFSM) or *limit* messages."""
        got = 0
        while True:
            body = self.recv()
            if body is None:
                if while_alive is not None and while_alive():
                    continue
                return
            self.print_message(body)
            got += 1
            if limit > 0 and got >= limit:
                return

    def rw_loop(self) -> None:
        """REQ, SURVEYOR, and BUS, PAIR with data: send, then print what comes back.

        Without ``-i``: one send, then receive until no more can come.  With
        ``-i SEC``: send every SEC seconds, printing what arrives between
        sends (``--recv-timeout`` caps each wait, but does not end the loop).
        """
        o = self.o
        assert o.data is not None
        interval = int(o.send_interval * 1000)
        recv_timeout = int(o.recv_timeout * 1000) if o.recv_timeout >= 0 else -1
        while True:
            start = _now_ms()
            self.send(o.data)
            last = self.done_sending()
            if o.send_interval < 0:
                self.recv_loop()
                if o.count > 0 and not last:
                    continue
                return
            while True:
                wait = start + interval - _now_ms()
                if wait <= 0:
                    break
                if 0 <= recv_timeout < wait:
                    wait = recv_timeout
                self.set_recv_timeout(wait)
                body = self.recv()
                if body is None:
                    if last:
                        return
                    _sleep_ms(start + interval - _now_ms())
                    continue
                self.print_message(body)
            if last:
                return

    def resp_loop(self) -> None:
        """REP, RESPONDENT with data: answer every request with the data."""
        o = self.o
        assert o.data is not None
        while True:
            self.print_message(self.recv_request())
            self.send(o.data)
            if self.done_sending():
                self.drain()
                return

    def recv_request(self) -> bytes:
        """nanocat's REP/RESPONDENT receive: every error (a timeout too) is fatal."""
        while True:
            try:
                body = self.s.recv()
            except nn.NanomsgError as e:
                if e.errno == nn.EAGAIN:
                    continue
                raise self.fail("Can't recv", e) from None
            self.received += 1
            return body

    # -- --stdin loops -----------------------------------------------------------

    def _paced(self) -> Iterator[bytes]:
        """stdin lines, at most one every ``-i`` seconds, up to ``--count``."""
        interval = int(self.o.send_interval * 1000)
        last: Optional[int] = None
        for line in self.lines():
            if last is not None and interval > 0:
                _sleep_ms(last + interval - _now_ms())
            last = _now_ms()
            yield line
            if self.done_sending():
                return

    def stdin_send_loop(self) -> None:
        for line in self._paced():
            self.send(line)
        if self.sent:
            self.drain()

    def stdin_ask_loop(self) -> None:
        for line in self._paced():
            self.send(line)
            self.recv_loop()

    def stdin_answer_loop(self) -> None:
        lines = self.lines()
        while True:
            self.print_message(self.recv_request())
            line = next(lines, None)
            if line is None:
                return
            self.send(line)
            if self.done_sending():
                self.drain()
                return

    def stdin_peer_loop(self) -> None:
        """BUS, PAIR: a thread sends the lines while this one prints what comes."""
        failure: List[Fatal] = []

        def pump() -> None:
            try:
                for line in self._paced():
                    self.send(line)
            except Fatal as f:
                failure.append(f)
                try:
                    self.s.close()
                except nn.NanomsgError:
                    pass

        sender = threading.Thread(target=pump, name="nncat-stdin", daemon=True)
        sender.start()
        try:
            self.recv_loop(while_alive=sender.is_alive)
        except Fatal:
            if failure:
                raise failure[0] from None
            raise
        if failure:
            raise failure[0]

    # -- the whole run -----------------------------------------------------------

    def run(self) -> None:
        o = self.o
        t = o.socket_type
        self.create()
        try:
            self.attach()
            _sleep_ms(int(o.send_delay * 1000))
            if t in _SEND_ONLY:
                self.stdin_send_loop() if o.stdin else self.send_loop()
            elif t in _RECV_ONLY:
                self.recv_loop(o.count)
            elif t in _PEER:
                if o.stdin:
                    self.stdin_peer_loop()
                elif o.data is not None:
                    self.rw_loop()
                else:
                    self.recv_loop(o.count)
            elif t in _ASKING:
                self.stdin_ask_loop() if o.stdin else self.rw_loop()
            elif t in _ANSWERING:
                if o.stdin:
                    self.stdin_answer_loop()
                elif o.data is not None:
                    self.resp_loop()
                else:
                    self.recv_loop(o.count)
        finally:
            try:
                self.s.close()
            except nn.NanomsgError:
                pass


def run(argv: Sequence[str], stdin: Optional[IO[bytes]] = None,
        stdout: Optional[IO[bytes]] = None, stderr: Optional[IO[str]] = None) -> int:
    """Run ``nncat`` with *argv* (``argv[0]`` included); the exit status."""
    out = stdout if stdout is not None else sys.stdout.buffer
    err = stderr if stderr is not None else sys.stderr
    try:
        opts = parse(argv, stdin=stdin)
    except UsageExit as u:
        if u.to_stdout:
            out.write(u.text.encode())
            out.flush()
        else:
            err.write(u.text)
            err.flush()
        return u.code
    try:
        Cat(opts, out, err, stdin).run()
    except Fatal as f:
        err.write(f.text)
        err.flush()
        return f.code
    return 0


def main(argv: Optional[Sequence[str]] = None) -> NoReturn:
    """The ``nncat`` console script."""
    if sys.platform != "win32":
        import signal
        # As a C program: die quietly on a closed pipe and on Ctrl-C.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        code = run(list(sys.argv if argv is None else argv))
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        code = 0
    sys.stdout.flush()
    sys.exit(code)


if __name__ == "__main__":
    main()
