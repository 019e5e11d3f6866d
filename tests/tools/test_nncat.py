"""``nncat`` against C nanomsg's ``nanocat``.

Every pattern runs with nncat on either side of a real nanocat (and binding
or connecting); the output formats are compared byte for byte with
nanocat's for the same messages; bad command lines must give nanocat's
messages and exit codes.  Both tools run as subprocesses
(``python -m nanomsg_tools.nncat``).  Synchronisation is by reading output
(repeating senders use ``--interval``), never by fixed sleeps.

Note: nanocat truncates ``--recv-timeout`` to whole seconds (``(int) t *
1000``), so comparisons with it use whole seconds or rely on that.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Any, Iterator, List, Optional, Sequence, Tuple

import pytest

import nanomsg_core as nn
from nanomsg_tools.nncat import formats
from nanomsg_tools.nncat.options import Options, UsageExit, parse
from tests.interop.peers import nanocat_bin
from tests.support import LineReader, free_port

TOOLS = ("nncat", "nanocat")
NNCAT = [sys.executable, "-m", "nanomsg_tools.nncat"]


def command(tool: str, args: Sequence[str]) -> List[str]:
    if tool == "nncat":
        return NNCAT + list(args)
    return [nanocat_bin()] + list(args)


class Proc:
    """A running tool whose stdout is read line by line (or all at the end)."""

    def __init__(self, tool: str, args: Sequence[str], stdin: Any = subprocess.DEVNULL,
                 lines: bool = True) -> None:
        self.tool = tool
        self.args = list(args)
        self.proc = subprocess.Popen(command(tool, args), stdin=stdin,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.reader: Optional[LineReader] = None
        if lines:
            assert self.proc.stdout is not None
            self.reader = LineReader(self.proc.stdout)

    def line(self, timeout: float = 15.0) -> bytes:
        assert self.reader is not None
        try:
            return self.reader.line(timeout)
        except AssertionError:
            raise AssertionError("%s %s printed nothing; stderr: %r" % (
                self.tool, self.args, self.stderr_now())) from None

    def stderr_now(self) -> bytes:
        if self.proc.poll() is None:
            return b"(still running)"
        if self.proc.returncode:
            return b"(exit %d) " % self.proc.returncode + self._stderr()
        return self._stderr()

    def _stderr(self) -> bytes:
        assert self.proc.stderr is not None
        return self.proc.stderr.read()

    def wait(self, timeout: float = 15.0) -> Tuple[bytes, bytes, int]:
        """Exit status with all of stdout (when not read by lines) and stderr."""
        if self.reader is None:
            out, err = self.proc.communicate(timeout=timeout)
        else:
            self.proc.wait(timeout=timeout)
            assert self.proc.stderr is not None
            out, err = b"", self.proc.stderr.read()
        return out, err, self.proc.returncode

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.communicate(timeout=5)
        except (ValueError, OSError, subprocess.TimeoutExpired):
            pass
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass


@pytest.fixture
def procs() -> Iterator[List[Proc]]:
    started: List[Proc] = []
    yield started
    for p in started:
        p.stop()


@pytest.fixture
def start(procs: List[Proc]) -> Any:
    def _start(tool: str, *args: str, **kw: Any) -> Proc:
        p = Proc(tool, args, **kw)
        procs.append(p)
        return p
    return _start


@pytest.fixture
def tmpdir_short() -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="nnc-")
    yield d
    import shutil
    shutil.rmtree(d, ignore_errors=True)


def tcp() -> str:
    return "tcp://127.0.0.1:%d" % free_port()


def run_tool(tool: str, args: Sequence[str], stdin: Optional[bytes] = None,
             timeout: float = 20.0) -> Tuple[bytes, bytes, int]:
    argv = command(tool, args)
    kw: dict[str, Any] = {}
    if tool == "nanocat":  # argv[0] "nanocat", as when run from $PATH
        kw["executable"] = argv[0]
        argv = ["nanocat"] + argv[1:]
    r = subprocess.run(argv, input=stdin if stdin is not None else b"", capture_output=True,
                       timeout=timeout, **kw)
    return r.stdout, r.stderr, r.returncode


def _ours_as_nanocat(err: bytes) -> bytes:
    return err.replace(b"nncat:", b"nanocat:")


# -- every pattern, nncat on both sides of nanocat ---------------------------------------

PAIRS = [("nncat", "nanocat"), ("nanocat", "nncat")]
"""(first role's tool, second role's tool)."""


def _urls(first_binds: bool, ipc_dir: str) -> str:
    return tcp() if first_binds else "ipc://%s/p.ipc" % ipc_dir


@pytest.mark.parametrize("first_binds", [True, False], ids=["pull-binds", "push-binds"])
@pytest.mark.parametrize("pull_tool,push_tool", PAIRS)
def test_push_pull(start: Any, pull_tool: str, push_tool: str, first_binds: bool,
                   tmpdir_short: str) -> None:
    url = _urls(first_binds, tmpdir_short)
    pull_ep, push_ep = ("--bind", "--connect") if first_binds else ("--connect", "--bind")
    pull = start(pull_tool, "--pull", pull_ep, url, "--ascii")
    push = start(push_tool, "--push", push_ep, url, "-D", "hello world")
    assert pull.line() == b"hello world"
    _, err, rc = push.wait()
    assert (rc, err) == (0, b""), "one-shot push exits 0 after sending"


@pytest.mark.parametrize("first_binds", [True, False], ids=["sub-binds", "pub-binds"])
@pytest.mark.parametrize("sub_tool,pub_tool", PAIRS)
def test_pub_sub(start: Any, sub_tool: str, pub_tool: str, first_binds: bool,
                 tmpdir_short: str) -> None:
    url = _urls(first_binds, tmpdir_short)
    sub_ep, pub_ep = ("--bind", "--connect") if first_binds else ("--connect", "--bind")
    sub = start(sub_tool, "--sub", sub_ep, url, "--subscribe", "tick", "--quoted")
    start(pub_tool, "--pub", pub_ep, url, "-D", "tick 1", "-i", "0.05")
    assert sub.line() == b'"tick 1"'


@pytest.mark.parametrize("sub_tool", TOOLS)
def test_subscription_filters(start: Any, sub_tool: str) -> None:
    apple, banana = tcp(), tcp()
    start("nanocat", "--pub", "--bind", apple, "-D", "apple", "-i", "0.05")
    start("nncat", "--pub", "--bind", banana, "-D", "banana", "-i", "0.05")
    sub = start(sub_tool, "--sub", "--connect", apple, "--connect", banana,
                "--subscribe", "ban", "--subscribe", "cherry", "-A")
    assert [sub.line() for _ in range(4)] == [b"banana"] * 4


@pytest.mark.parametrize("first_binds", [True, False], ids=["rep-binds", "req-binds"])
@pytest.mark.parametrize("rep_tool,req_tool", PAIRS)
def test_req_rep(start: Any, rep_tool: str, req_tool: str, first_binds: bool,
                 tmpdir_short: str) -> None:
    url = _urls(first_binds, tmpdir_short)
    rep_ep, req_ep = ("--bind", "--connect") if first_binds else ("--connect", "--bind")
    rep = start(rep_tool, "--rep", rep_ep, url, "-D", "the answer", "--ascii")
    req = start(req_tool, "--req", req_ep, url, "-D", "the question", "--quoted")
    assert req.line() == b'"the answer"'
    assert rep.line() == b"the question"
    _, err, rc = req.wait()
    assert (rc, err) == (0, b""), "REQ exits after its reply (EFSM ends the loop)"


@pytest.mark.parametrize("first_binds", [True, False],
                         ids=["respondent-binds", "surveyor-binds"])
@pytest.mark.parametrize("resp_tool,surv_tool", PAIRS)
def test_surveyor_respondent(start: Any, resp_tool: str, surv_tool: str, first_binds: bool,
                             tmpdir_short: str) -> None:
    url = _urls(first_binds, tmpdir_short)
    resp_ep, surv_ep = ("--bind", "--connect") if first_binds else ("--connect", "--bind")
    resp = start(resp_tool, "--respondent", resp_ep, url, "-D", "aye", "--ascii")
    # each survey cancels the last: the interval must outlast a round trip
    surv = start(surv_tool, "--surveyor", surv_ep, url, "-D", "who?", "-i", "0.5",
                 "--ascii")
    assert surv.line() == b"aye"
    assert resp.line() == b"who?"


@pytest.mark.parametrize("kind", ["bus", "pair"])
@pytest.mark.parametrize("first_binds", [True, False], ids=["ours-binds", "nanocat-binds"])
def test_bus_and_pair_both_ways(start: Any, kind: str, first_binds: bool,
                                tmpdir_short: str) -> None:
    url = _urls(first_binds, tmpdir_short)
    ours_ep, theirs_ep = ("--bind", "--connect") if first_binds else ("--connect", "--bind")
    ours = start("nncat", "--" + kind, ours_ep, url, "-D", "from nncat", "-i", "0.05", "-A")
    theirs = start("nanocat", "--" + kind, theirs_ep, url, "-D", "from nanocat", "-i",
                   "0.05", "-A")
    assert ours.line() == b"from nanocat"
    assert theirs.line() == b"from nncat"


@pytest.mark.parametrize("kind", ["bus", "pair"])
def test_bus_and_pair_receive_only(start: Any, kind: str) -> None:
    """Without data, BUS and PAIR only receive (nanocat's recv loop)."""
    url = tcp()
    ours = start("nncat", "--" + kind, "--bind", url, "--hex")
    start("nanocat", "--" + kind, "--connect", url, "-D", "\x01z", "-i", "0.05")
    assert ours.line() == b'"\\x01\\x7a"'


# -- output formats, byte for byte -------------------------------------------------------

MESSAGES = [b"", b"hello", bytes(range(256)), b'q " b \\ n \n r \r t \t del \x7f',
            b"\x00" * 255, b"x" * 256, b"y" * 65535, b"z" * 65536,
            bytes(range(255, -1, -1)) * 300]


def _feed(url: str, messages: Sequence[bytes]) -> None:
    """Connect (retrying every 10 ms until the receiver binds), then send."""
    with nn.Socket(nn.AF_SP, nn.PUSH) as s:
        s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 20000)
        s.setsockopt(nn.SOL_SOCKET, nn.LINGER, 5000)
        s.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 10)
        s.connect(url)
        for m in messages:
            s.send(m)


@pytest.mark.parametrize("fmt", ["--raw", "--ascii", "-A", "--quoted", "-Q", "--msgpack",
                                 "--hex", "--format=no", "--format=quoted"])
def test_formats_byte_for_byte(start: Any, fmt: str) -> None:
    urls = {tool: tcp() for tool in TOOLS}
    # the senders first, so that each receiver's first message comes at once
    # (a receiver stops after 2 s without one)
    feeders = [threading.Thread(target=_feed, args=(urls[t], MESSAGES)) for t in TOOLS]
    for f in feeders:
        f.start()
    ps = {tool: start(tool, "--pull", "--bind", urls[tool], "--recv-timeout", "2", fmt,
                      lines=False) for tool in TOOLS}
    for f in feeders:
        f.join(30)
    results = {tool: p.wait() for tool, p in ps.items()}
    out, err, rc = results["nncat"]
    assert (err, rc) == (b"", 0)
    assert out == results["nanocat"][0]
    assert results["nanocat"][1:] == (b"", 0)
    if fmt != "--format=no":
        assert out


def test_format_functions() -> None:
    assert formats.ascii_(b"a\x00\xffb\n") == b"a..b.\n"
    assert formats.quoted(b'a"\\\n\r\x01\xff') == b'"a\\"\\\\\\n\\r\\x01\\xff"\n'
    assert formats.hex_(b"\x00A") == b'"\\x00\\x41"\n'
    assert formats.msgpack(b"ab") == b"\xc4\x02ab"
    assert formats.msgpack(b"a" * 300)[:3] == b"\xc5\x01\x2c"
    assert formats.msgpack(b"a" * 70000)[:5] == b"\xc6\x00\x01\x11\x70"
    assert formats.raw(b"\x00\n") == b"\x00\n"


# -- command lines: nanocat's messages and exit codes --------------------------------

BAD_COMMAND_LINES = [
    ["--foo"], ["--pu"], ["--re"], ["--push"], ["--push", "--pull"], ["--push", "-D", "x"],
    ["--pull", "--connect", "tcp://127.0.0.1:1", "-D", "x"], ["--pull", "--bind"],
    ["--pull", "-i", "abc", "--bind", "x"], ["--pull", "--recv-timeout", "1x", "--bind", "x"],
    ["--pull", "--format", "foo", "--bind", "x"], ["--pull", "--raw=1", "--bind", "x"],
    ["--pull", "-F", "/nonexistent/file", "--bind", "x"],
    ["--push", "--connect=x", "--data=x", "--ascii"], ["--push", "-AD", "x", "-L", "5"],
    ["--pull", "-L5", "-X"], ["--pull", "-z"], ["--pull", "foo"],
    ["--pull", "-D", "x", "-D", "y"], ["--sub", "--subscribe", "a", "--bind", "x", "--pull"],
    ["--pull", "--subscribe", "a", "--bind", "x"], ["--rep", "-X"], ["--ver", "--pull"],
    ["--v"], ["--pair", "--=x"], ["-"], ["--", "--pull"], ["--pus", "--conn", "x"],
    ["--push", "--send-t", "1", "--recv-timeout", "1", "-D", "x", "-l", "1"],
    ["--pull", "--bind", "foo://x"], ["--pull", "--connect", "tcp://127.0.0.1"],
    ["--pull", "--bind", "ipc:///nonexistent/dir/x.ipc"],
    ["--bus", "-vqvD", "x", "--interval", "--bind", "x"],
]


@pytest.mark.parametrize("args", BAD_COMMAND_LINES, ids=lambda a: " ".join(a) or "empty")
def test_bad_command_lines_as_nanocat(args: List[str]) -> None:
    _, nerr, nrc = run_tool("nanocat", args)
    _, err, rc = run_tool("nncat", args)
    assert nrc != 0
    assert (rc, _ours_as_nanocat(err)) == (nrc, nerr)


def test_no_arguments_as_nanocat() -> None:
    _, nerr, nrc = run_tool("nanocat", [])
    _, err, rc = run_tool("nncat", [])
    assert (rc, _ours_as_nanocat(err)) == (nrc, nerr) == (1, nerr)


def test_help_starts_with_nanocats() -> None:
    nout, _, nrc = run_tool("nanocat", ["--help"])
    out, _, rc = run_tool("nncat", ["-vh"])
    assert rc == nrc == 0
    theirs = nout.decode().splitlines()
    ours = out.decode().splitlines()
    assert ours[0] == theirs[0] == "Usage:"
    assert ours[2:len(theirs)] == theirs[2:], "nanocat's option list, then ours"
    for extra in ("--pair1", "--dial", "--listen", "--count", "--recv-maxsz", "--version",
                  "--cacert", "--cert", "--key", "--insecure", "--option", "--stdin"):
        assert any(line.startswith(" " + extra) for line in ours), extra


def test_address_in_use_as_nanocat() -> None:
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        url = "tcp://127.0.0.1:%d" % busy.getsockname()[1]
        results = [run_tool(t, ["--pull", "--bind", url]) for t in TOOLS]
    assert results[0] == results[1] == (b"", b"Can't bind: Address already in use\n", 3)


def test_unique_prefixes_work(start: Any) -> None:
    url = tcp()
    pull = start("nncat", "--pul", "--bind", url, "--quo", "--recv-t", "5")
    start("nanocat", "--pus", "--connect", url, "--da", "p")
    assert pull.line() == b'"p"'


def test_console_script_declared() -> None:
    from importlib.metadata import entry_points
    eps = [e for e in entry_points(group="console_scripts") if e.name == "nncat"]
    assert eps and eps[0].value == "nanomsg_tools.nncat.main:main"


# -- parsing, in process --------------------------------------------------------------

def _parse(*args: str, argv0: str = "nncat") -> Options:
    return parse([argv0, *args])


def test_parse_defaults_and_values() -> None:
    o = _parse("--sub", "-X", "/tmp/a", "-l5555", "--subscribe", "x", "--recv-timeout",
               "0.25", "-QA", "--format", "hex", "--socket-name=n")
    assert o.socket_type == nn.SUB and o.bind == ["ipc:///tmp/a"]
    assert o.connect == ["tcp://127.0.0.1:5555"] and o.subscribe == [b"x"]
    assert o.recv_timeout == 0.25 and o.format == "hex" and o.socket_name == "n"
    assert (o.send_timeout, o.send_interval, o.send_delay, o.data) == (-1.0, -1.0, 0.0, None)


def test_parse_arg0_sets_socket_type() -> None:
    assert _parse("--bind", "x", argv0="/usr/bin/nn_pull").socket_type == nn.PULL
    with pytest.raises(UsageExit) as ei:
        _parse("--push", "--bind", "x", argv0="nn_pull")
    assert "nn_pull (executable)" in ei.value.text


def test_extensions_do_not_steal_nanocat_prefixes() -> None:
    assert _parse("--ver", "--pull", "--bind", "x").verbose == 1
    assert _parse("--as", "--pull", "--bind", "x").format == "ascii"
    with pytest.raises(UsageExit) as ei:
        _parse("--vers")
    assert ei.value.code == 0 and ei.value.to_stdout and ei.value.text.startswith("nncat ")
    assert _parse("--pair1", "--dial", "a", "--listen", "b").connect == ["a"]
    o = _parse("--push0", "--lis", "b", "--coun", "0x10", "--stdin")
    assert (o.socket_type, o.bind, o.count, o.stdin) == (nn.PUSH, ["b"], 16, 1)


def test_parse_numbers_as_c() -> None:
    assert _parse("--pull", "-L1", "--recv-timeout", "1e-1").recv_timeout == 0.1
    assert _parse("--pull", "-L1", "--recv-timeout", " 2").recv_timeout == 2.0
    assert _parse("--pull", "-L1", "--recv-timeout", "0x1p-2").recv_timeout == 0.25
    assert _parse("--pull", "-L1", "-C", "010").count == 8
    with pytest.raises(UsageExit) as ei:
        _parse("--pull", "-L1", "-C", "1.5")
    assert ei.value.text == "nncat: Option -C (--count) requires integer argument\n"


def test_parse_sockopts() -> None:
    o = _parse("--sub", "-L1", "-o", "RCVBUF=0x10000", "--option", "nn_linger=0",
               "--option", "SUB:SUBSCRIBE=ab", "-o", "TCP:NODELAY=1", "-o", "0:3=4096",
               "-o", "REQ_RESEND_IVL=5", "-o", "SOCKET_NAME=123")
    got = [(s.level, s.option, s.value) for s in o.sockopts]
    assert got == [(0, nn.RCVBUF, 65536), (0, nn.LINGER, 0), (nn.SUB, nn.SUB_SUBSCRIBE, b"ab"),
                   (nn.TCP, nn.TCP_NODELAY, 1), (0, 3, 4096), (nn.REQ, nn.REQ_RESEND_IVL, 5),
                   (0, nn.SOCKET_NAME, "123")]
    for bad, msg in [("BOGUS=1", "unknown socket option ``BOGUS''"),
                     ("LINGER=soon", "LINGER takes an integer, not ``soon''"),
                     ("LINGER", "requires NAME=VALUE"),
                     ("NOLEVEL:X=1", "unknown option level ``NOLEVEL''")]:
        with pytest.raises(UsageExit) as ei:
            _parse("--pull", "-L1", "--option", bad)
        assert ei.value.code == 1
        assert ei.value.text.startswith("nncat: Option --option " + msg), ei.value.text


# -- timeouts and exit codes -------------------------------------------------------------

def test_recv_timeout_is_sub_second() -> None:
    t0 = time.monotonic()
    out, err, rc = run_tool("nncat", ["--pull", "--bind", tcp(), "--recv-timeout", "0.3"])
    elapsed = time.monotonic() - t0
    assert (out, err, rc) == (b"", b"", 0)
    assert 0.25 <= elapsed < 10


@pytest.mark.parametrize("args,expected", [
    (["--rep", "-D", "x", "--recv-timeout", "0.3"], (b"", b"Can't recv: Connection timed out\n", 3)),
    (["--respondent", "-D", "x", "--recv-timeout", "1"],
     (b"", b"Can't recv: Connection timed out\n", 3)),
    (["--push", "-D", "x", "--send-timeout", "0.3"], (b"", b"Can't send: Connection timed out\n", 3)),
    (["--req", "-D", "x", "--recv-timeout", "1", "-A"], (b"", b"", 0)),
    (["--bus", "-D", "x", "--recv-timeout", "1"], (b"", b"", 0)),
    (["--pair", "--recv-timeout", "1"], (b"", b"", 0)),
    (["--surveyor", "-D", "x", "-Q"], (b"", b"", 0)),
], ids=["rep", "respondent", "push-send", "req", "bus", "pair", "surveyor-deadline"])
def test_timeouts_as_nanocat(args: List[str], expected: Tuple[bytes, bytes, int]) -> None:
    results = {}
    threads = []
    for tool in TOOLS:
        def go(tool: str = tool) -> None:
            results[tool] = run_tool(tool, args + ["--bind", tcp()])
        threads.append(threading.Thread(target=go))
        threads[-1].start()
    for t in threads:
        t.join(30)
    assert results["nanocat"] == expected
    assert results["nncat"] == expected


# -- nncat's extensions ------------------------------------------------------------------

def test_version() -> None:
    out, err, rc = run_tool("nncat", ["--version"])
    assert rc == 0 and err == b"" and out.startswith(b"nncat ")
    assert run_tool("nncat", ["-V"])[0] == out


def test_count_on_receivers_and_senders(start: Any) -> None:
    url = tcp()
    pull = start("nncat", "--pull", "--bind", url, "-A", "--count", "3", lines=False)
    start("nanocat", "--push", "--connect", url, "-D", "n", "-i", "0.02")
    assert pull.wait() == (b"n\nn\nn\n", b"", 0)
    url = tcp()
    theirs = start("nanocat", "--pull", "--bind", url, "-A")
    push = start("nncat", "--push", "--connect", url, "-D", "m", "-i", "0.02", "-C", "3")
    assert push.wait()[1:] == (b"", 0)
    assert [theirs.line() for _ in range(3)] == [b"m"] * 3
    with pytest.raises(AssertionError):
        theirs.line(0.5)


def test_count_on_req_and_rep(start: Any) -> None:
    url = tcp()
    rep = start("nncat", "--rep", "--bind", url, "-D", "r", "--count", "2", "-A", lines=False)
    # the interval must outlast a reply's round trip (a late reply is dropped): 2 s is
    # generous on a loaded machine
    req = start("nncat", "--req", "--connect", url, "-D", "q", "-i", "2", "--count", "2",
                "-A", lines=False)
    assert req.wait() == (b"r\nr\n", b"", 0)
    assert rep.wait() == (b"q\nq\n", b"", 0)


def test_count_without_interval_repeats(start: Any) -> None:
    url = tcp()
    rep = start("nanocat", "--rep", "--bind", url, "-D", "r", "-A")
    req = start("nncat", "--req", "--connect", url, "-D", "q", "-C", "3", "-A", lines=False)
    assert req.wait() == (b"r\nr\nr\n", b"", 0)
    assert [rep.line() for _ in range(3)] == [b"q"] * 3


def test_dial_and_listen(start: Any) -> None:
    url = tcp()
    pull = start("nncat", "--pull", "--listen", url, "-Q")
    start("nncat", "--push", "--dial", url, "-D", "dl")
    assert pull.line() == b'"dl"'
    url = tcp()
    theirs = start("nanocat", "--pull", "--bind", url, "-Q")
    start("nncat", "--push", "--dial", url, "-D", "to nanocat")
    assert theirs.line() == b'"to nanocat"'


def test_pair1(start: Any) -> None:
    url = tcp()
    if 17 not in nn.get_registry().protocols:
        out, err, rc = run_tool("nncat", ["--pair1", "--bind", url])
        assert (out, err, rc) == (b"", b"Can't create socket: Protocol not supported\n", 3)
        return
    a = start("nncat", "--pair1", "--bind", url, "-D", "a", "-i", "0.05", "-A")
    b = start("nncat", "--pair1", "--connect", url, "-D", "b", "-i", "0.05", "-A")
    assert a.line() == b"b" and b.line() == b"a"


def test_pair1_with_pynng(start: Any) -> None:
    if 17 not in nn.get_registry().protocols:
        pytest.fail("pair1 is not registered (nanomsg-pair should provide it)")
    import pynng
    url = tcp()
    with pynng.Pair1(recv_timeout=10000, send_timeout=10000) as peer:
        peer.listen(url)
        ours = start("nncat", "--pair1", "--connect", url, "-D", "hi nng", "-A")
        assert peer.recv() == b"hi nng"
        peer.send(b"hi nncat")
        assert ours.line() == b"hi nncat"


def test_recv_maxsz(start: Any) -> None:
    url = tcp()
    pull = start("nncat", "--pull", "--bind", url, "-A", "--recv-maxsz", "10", "-C", "1",
                 lines=False)
    done = threading.Event()

    def feed() -> None:
        with nn.Socket(nn.AF_SP, nn.PUSH) as s:
            s.setsockopt(nn.SOL_SOCKET, nn.SNDTIMEO, 200)
            s.setsockopt(nn.SOL_SOCKET, nn.RECONNECT_IVL, 20)
            s.connect(url)
            first = True
            while not done.is_set():
                try:
                    s.send(b"A" * 100 if first else b"ok")
                    first = False
                except nn.NanomsgError:
                    pass
                time.sleep(0.02)

    t = threading.Thread(target=feed)
    t.start()
    try:
        assert pull.wait() == (b"ok\n", b"", 0)
    finally:
        done.set()
        t.join(10)


def test_option_sets_socket_options(start: Any) -> None:
    apple, banana = tcp(), tcp()
    start("nncat", "--pub", "--bind", apple, "-D", "apple", "-i", "0.05")
    start("nanocat", "--pub", "--bind", banana, "-D", "banana", "-i", "0.05")
    sub = start("nncat", "--sub", "--connect", apple, "--connect", banana, "-A",
                "--subscribe", "apple", "--option", "SUB:UNSUBSCRIBE=apple",
                "-o", "SUB_SUBSCRIBE=ban", "-o", "RCVBUF=262144", "-o", "SOL_SOCKET:LINGER=0")
    assert [sub.line() for _ in range(3)] == [b"banana"] * 3


def test_option_errors() -> None:
    out, err, rc = run_tool("nncat", ["--pull", "-L1", "--option", "RCVMAXSIZE=-5"])
    assert rc == 3 and err.startswith(b"Can't set option RCVMAXSIZE: Invalid argument")
    out, err, rc = run_tool("nncat", ["--pull", "-L1", "--option", "BOGUS=1"])
    assert (rc, err) == (1, b"nncat: Option --option unknown socket option ``BOGUS''\n")


def test_stdin_lines_to_nanocat(start: Any) -> None:
    url = tcp()
    pull = start("nanocat", "--pull", "--bind", url, "--quoted")
    out, err, rc = run_tool("nncat", ["--push", "--connect", url, "--stdin"],
                            stdin=b"a\nb c\r\n\nlast")
    assert (out, err, rc) == (b"", b"", 0)
    assert [pull.line() for _ in range(4)] == [b'"a"', b'"b c"', b'""', b'"last"']


def test_file_dash_is_one_message(start: Any) -> None:
    url = tcp()
    pull = start("nanocat", "--pull", "--bind", url, "--quoted")
    assert run_tool("nncat", ["--push", "--connect", url, "-F", "-"],
                    stdin=b"two\nlines\n") == (b"", b"", 0)
    assert pull.line() == b'"two\\nlines\\n"'


def test_file_option(start: Any, tmp_path: Any) -> None:
    f = tmp_path / "payload"
    f.write_bytes(bytes(range(10)))
    url = tcp()
    pull = start("nanocat", "--pull", "--bind", url, "--hex")
    assert run_tool("nncat", ["--push", "--connect", url, "--file", str(f)])[2] == 0
    assert pull.line() == b'"' + b"".join(b"\\x%02x" % i for i in range(10)) + b'"'


def test_stdin_requests(start: Any) -> None:
    url = tcp()
    rep = start("nanocat", "--rep", "--bind", url, "-D", "ans", "-A")
    out, err, rc = run_tool("nncat", ["--req", "--connect", url, "--stdin", "-A"],
                            stdin=b"q1\nq2\n")
    assert (out, err, rc) == (b"ans\nans\n", b"", 0)
    assert [rep.line(), rep.line()] == [b"q1", b"q2"]


def test_stdin_replies(start: Any) -> None:
    url = tcp()
    rep = start("nncat", "--rep", "--bind", url, "--stdin", "-A", stdin=subprocess.PIPE)
    assert rep.proc.stdin is not None
    rep.proc.stdin.write(b"r1\nr2\n")
    rep.proc.stdin.close()
    # a slow interval: a reply later than the next request would be dropped
    req = start("nanocat", "--req", "--connect", url, "-D", "q", "-i", "0.5", "-A")
    assert [req.line(), req.line()] == [b"r1", b"r2"]
    assert rep.wait()[1:] == (b"", 0), "stdin's end ends the replies"
    assert [rep.line() for _ in range(3)] == [b"q"] * 3


def test_stdin_bus_sends_while_receiving(start: Any) -> None:
    url = tcp()
    theirs = start("nanocat", "--bus", "--bind", url, "-D", "from nanocat", "-i", "0.05", "-A")
    ours = start("nncat", "--bus", "--connect", url, "--stdin", "-A", "--recv-timeout", "0.5",
                 stdin=subprocess.PIPE)
    assert ours.line() == b"from nanocat", "receives while stdin is open"
    stdin: IO[bytes] = ours.proc.stdin  # type: ignore[assignment]
    stdin.write(b"hello bus\n")
    stdin.flush()
    assert theirs.line() == b"hello bus"
    stdin.close()
    theirs.stop()
    assert ours.wait()[1:] == (b"", 0), "ends at stdin's end + --recv-timeout"


def _self_signed(d: str) -> Tuple[str, str]:
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert,
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


@pytest.mark.parametrize("verify", ["cacert", "insecure"])
def test_tls_pair(start: Any, tmpdir_short: str, verify: str) -> None:
    cert, key = _self_signed(tmpdir_short)
    url = "tls+tcp://127.0.0.1:%d" % free_port()
    server = start("nncat", "--pair", "--bind", url, "--cert", cert, "--key", key, "-D", "s",
                   "-i", "0.05", "-A")
    client_auth = ["--cacert", cert] if verify == "cacert" else ["-k"]
    client = start("nncat", "--pair", "--connect", url, *client_auth, "-D", "c", "-i", "0.05",
                   "-A")
    assert server.line() == b"c"
    assert client.line() == b"s"


def test_tls_bad_files() -> None:
    out, err, rc = run_tool("nncat", ["--pair", "--bind", "tls+tcp://127.0.0.1:%d" % free_port(),
                                      "--cert", "/nonexistent.pem"])
    assert rc == 2 and err.startswith(b"Can't set up TLS: /nonexistent.pem")


def test_rep_without_data_only_prints(start: Any) -> None:
    url = tcp()
    rep = start("nncat", "--rep", "--bind", url, "-A")
    start("nanocat", "--req", "--connect", url, "-D", "again", "-i", "0.05")
    assert [rep.line() for _ in range(3)] == [b"again"] * 3, "REP keeps receiving"


@pytest.mark.parametrize("ours_binds", [True, False], ids=["ours-binds", "nanocat-binds"])
def test_websocket_with_nanocat(start: Any, ours_binds: bool) -> None:
    # nanocat 1.1.5 binds ws:// only at the root path
    url = "ws://127.0.0.1:%d%s" % (free_port(), "/nn" if ours_binds else "")
    if ours_binds:
        pull = start("nncat", "--pull", "--bind", url, "-Q")
        start("nanocat", "--push", "--connect", url, "-D", "over ws")
    else:
        pull = start("nanocat", "--pull", "--bind", url, "-Q")
        start("nncat", "--push", "--connect", url, "-D", "over ws")
    assert pull.line() == b'"over ws"'


def test_run_in_process() -> None:
    import io
    from nanomsg_tools.nncat import run
    out, err = io.BytesIO(), io.StringIO()
    assert run(["nncat", "--pull", "--bind", "inproc://nncat-run", "--recv-timeout", "0.05"],
               stdout=out, stderr=err) == 0
    assert run(["nncat", "--push"], stdout=out, stderr=err) == 1
    assert err.getvalue().startswith("nncat: Option --push requires at least one of")
    assert run(["nncat", "--sub", "--bind", "bogus://x"], stdout=out, stderr=err) == 3
    assert err.getvalue().endswith("Can't bind: Protocol not supported\n")
    assert out.getvalue() == b""


def test_burst_then_exit_delivers_everything(start: Any) -> None:
    """A sender that exits right after its last send loses nothing."""
    url = tcp()
    theirs = start("nanocat", "--pull", "--bind", url, "-A")
    push = start("nncat", "--push", "--connect", url, "-D", "b", "--count", "50")
    assert push.wait()[1:] == (b"", 0)
    assert [theirs.line() for _ in range(50)] == [b"b"] * 50


def test_tls_listener_needs_a_certificate() -> None:
    url = "tls+tcp://127.0.0.1:%d" % free_port()
    assert run_tool("nncat", ["--pair", "--bind", url, "-k"]) == (
        b"", b"Can't set up TLS: a TLS listener (--bind) needs --cert FILE\n", 2)


def test_verbose_adds_the_librarys_explanation() -> None:
    plain = run_tool("nncat", ["--pull", "--bind", "bogus://x"])
    assert plain == (b"", b"Can't bind: Protocol not supported\n", 3)
    out, err, rc = run_tool("nncat", ["-v", "--pull", "--bind", "bogus://x"])
    assert rc == 3 and err.startswith(b"Can't bind: Protocol not supported (")
    assert b"bogus" in err
