"""Command-line parsing for ``nncat``, with the semantics of C nanocat's parser.

nanocat does not use getopt: its parser is table driven, and every option
carries three bit masks -- what it *provides* (socket type, readable,
writeable, data, endpoint...), what it *conflicts* with and what it
*requires*.  Its error messages and exit codes follow from those tables, so
this module keeps the same model (the table below lists nanocat's options in
nanocat's order, then nncat's extensions) and prints the same messages:

* long options may be abbreviated to any unique prefix (``--pu`` is
  ambiguous, ``--pus`` is ``--push``); an exact name always wins.  Prefixes
  are resolved against nanocat's own options first, so an extension never
  makes a prefix that works with nanocat ambiguous (``--ver`` stays
  ``--verbose`` although ``--version`` exists);
* ``--name=value`` or ``--name value``; short options cluster (``-AD x``)
  and take their argument attached or as the next word;
* a bare word is an error, ``--`` is ignored (as nanocat does);
* usage errors exit with status 1, unreadable ``--file`` with status 2.
"""

from __future__ import annotations

import enum
import os
import sys
from dataclasses import dataclass, field
from typing import IO, Callable, List, Optional, Sequence, Tuple, Union

import nanomsg_core as nn

from .helptext import help_text
from .numbers import parse_float, parse_int
from .sockopts import SockOpt, SockOptError, parse_sockopt

__all__ = ["Options", "UsageExit", "parse", "OPTIONS", "FORMATS", "prog_name"]

# Masks, as nanocat's.
SOCK = 1
WRITEABLE = 2
READABLE = 4
SOCK_SUB = 8
DATA = 16
ENDPOINT = 32
SOCK_WRITEABLE = SOCK | WRITEABLE
SOCK_READABLE = SOCK | READABLE
SOCK_READWRITE = SOCK_WRITEABLE | SOCK_READABLE

REQUIRED = SOCK | ENDPOINT
"""Every command line needs a socket type and an endpoint."""

FORMATS = ("no", "raw", "ascii", "quoted", "msgpack", "hex")


class Kind(enum.Enum):
    HELP = "help"
    VERSION = "version"
    INT = "int"
    INCREMENT = "increment"
    DECREMENT = "decrement"
    ENUM = "enum"
    SET_ENUM = "set_enum"
    STRING = "string"
    BLOB = "blob"
    FLOAT = "float"
    LIST_APPEND = "list_append"
    LIST_APPEND_FMT = "list_append_fmt"
    READ_FILE = "read_file"
    FLAG = "flag"
    SOCKOPT = "sockopt"


_HAS_ARG = {Kind.INT, Kind.ENUM, Kind.STRING, Kind.BLOB, Kind.FLOAT, Kind.LIST_APPEND,
            Kind.LIST_APPEND_FMT, Kind.READ_FILE, Kind.SOCKOPT}


@dataclass(frozen=True)
class Opt:
    long: str
    short: str
    kind: Kind
    dest: str
    value: Union[int, str, None]
    provides: int
    conflicts: int
    requires: int
    group: str
    metavar: Optional[str]
    help: str
    arg0: Optional[str] = None
    ext: bool = False
    """Not one of nanocat's options (resolved after them, never listed in
    nanocat's "requires" messages)."""
    alias: bool = False
    """An alternative spelling (nngcat's ``--push0``...): left out of the usage line."""

    @property
    def has_arg(self) -> bool:
        return self.kind in _HAS_ARG


def _sock(name: str, proto: int, provides: int, requires: int, *, arg0: bool = True,
          ext: bool = False, alias: bool = False, group: str = "Socket Types",
          text: str = "") -> Opt:
    return Opt(name, "", Kind.SET_ENUM, "socket_type", proto, provides, SOCK, requires,
               group, None, text or "Use NN_%s socket type" % name.upper(),
               arg0=("nn_" + name) if arg0 else None, ext=ext, alias=alias)


def _echo(name: str, short: str, text: str) -> Opt:
    """``--NAME``: one of the echo formats (``--format NAME``)."""
    return Opt(name, short, Kind.SET_ENUM, "format", name, 0, 0, READABLE,
               "Input Options", None, text)


_NANOCAT: List[Opt] = [
    Opt("verbose", "v", Kind.INCREMENT, "verbose", None, 0, 0, 0,
        "Generic", None, "Increase verbosity of the nanocat"),
    Opt("silent", "q", Kind.DECREMENT, "verbose", None, 0, 0, 0,
        "Generic", None, "Decrease verbosity of the nanocat"),
    Opt("help", "h", Kind.HELP, "", None, 0, 0, 0, "Generic", None, "This help text"),
    _sock("push", nn.PUSH, SOCK_WRITEABLE, DATA),
    _sock("pull", nn.PULL, SOCK_READABLE, 0),
    _sock("pub", nn.PUB, SOCK_WRITEABLE, DATA),
    _sock("sub", nn.SUB, SOCK_READABLE | SOCK_SUB, 0),
    _sock("req", nn.REQ, SOCK_READWRITE, DATA),
    _sock("rep", nn.REP, SOCK_READWRITE, 0),
    _sock("surveyor", nn.SURVEYOR, SOCK_READWRITE, DATA),
    _sock("respondent", nn.RESPONDENT, SOCK_READWRITE, 0),
    _sock("bus", nn.BUS, SOCK_READWRITE, 0),
    _sock("pair", nn.PAIR, SOCK_READWRITE, 0),
    Opt("bind", "", Kind.LIST_APPEND, "bind", None, ENDPOINT, 0, 0,
        "Socket Options", "ADDR", "Bind socket to the address ADDR"),
    Opt("connect", "", Kind.LIST_APPEND, "connect", None, ENDPOINT, 0, 0,
        "Socket Options", "ADDR", "Connect socket to the address ADDR"),
    Opt("bind-ipc", "X", Kind.LIST_APPEND_FMT, "bind", "ipc://", ENDPOINT, 0, 0,
        "Socket Options", "PATH", 'Bind socket to the ipc address "ipc://PATH".'),
    Opt("connect-ipc", "x", Kind.LIST_APPEND_FMT, "connect", "ipc://", ENDPOINT, 0, 0,
        "Socket Options", "PATH", 'Connect socket to the ipc address "ipc://PATH".'),
    Opt("bind-local", "L", Kind.LIST_APPEND_FMT, "bind", "tcp://127.0.0.1:", ENDPOINT, 0, 0,
        "Socket Options", "PORT", 'Bind socket to the tcp address "tcp://127.0.0.1:PORT".'),
    Opt("connect-local", "l", Kind.LIST_APPEND_FMT, "connect", "tcp://127.0.0.1:", ENDPOINT,
        0, 0, "Socket Options", "PORT",
        'Connect socket to the tcp address "tcp://127.0.0.1:PORT".'),
    Opt("recv-timeout", "", Kind.FLOAT, "recv_timeout", None, 0, 0, READABLE,
        "Socket Options", "SEC", "Set timeout for receiving a message"),
    Opt("send-timeout", "", Kind.FLOAT, "send_timeout", None, 0, 0, WRITEABLE,
        "Socket Options", "SEC", "Set timeout for sending a message"),
    Opt("socket-name", "", Kind.STRING, "socket_name", None, 0, 0, 0,
        "Socket Options", "NAME", "Name of the socket for statistics"),
    Opt("subscribe", "", Kind.LIST_APPEND, "subscribe", None, 0, 0, SOCK_SUB,
        "SUB Socket Options", "PREFIX", "Subscribe to the prefix PREFIX. Note: socket will "
        "be subscribed to everything (empty prefix) if no prefixes are specified on the "
        "command-line."),
    Opt("format", "", Kind.ENUM, "format", None, 0, 0, READABLE,
        "Input Options", "FORMAT", "Use echo format FORMAT (same as the options below)"),
    _echo("raw", "", "Dump message as is (Note: no delimiters are printed)"),
    _echo("ascii", "A", "Print ASCII part of message delimited by newline. All "
          "non-ascii characters replaced by dot."),
    _echo("quoted", "Q", "Print each message on separate line in double quotes with "
          "C-like character escaping"),
    _echo("msgpack", "", "Print each message as msgpacked string (raw type). This is "
          "useful for programmatic parsing."),
    _echo("hex", "", "Print each message on separate line in double quotes with "
          "hex values"),
    Opt("interval", "i", Kind.FLOAT, "send_interval", None, 0, 0, WRITEABLE,
        "Output Options", "SEC", "Send message (or request) every SEC seconds"),
    Opt("delay", "d", Kind.FLOAT, "send_delay", None, 0, 0, 0,
        "Output Options", "SEC", "Wait for SEC seconds before sending message (useful for "
        "one-shot PUB sockets)"),
    Opt("data", "D", Kind.BLOB, "data", None, DATA, DATA, WRITEABLE,
        "Output Options", "DATA", "Send DATA to the socket and quit for PUB, PUSH, PAIR, BUS "
        "socket. Use DATA to reply for REP or  RESPONDENT socket. Send DATA as request for "
        "REQ or SURVEYOR socket."),
    Opt("file", "F", Kind.READ_FILE, "data", None, DATA, DATA, WRITEABLE,
        "Output Options", "PATH", "Same as --data but get data from file PATH"),
]


def _ext(long: str, short: str, kind: Kind, dest: str, value: Union[int, str, None],
         provides: int, conflicts: int, requires: int, group: str, metavar: Optional[str],
         text: str) -> Opt:
    return Opt(long, short, kind, dest, value, provides, conflicts, requires, group,
               metavar, text, ext=True)


_EXTENSIONS: List[Opt] = [
    _sock("pair1", nn.PAIR1, SOCK_READWRITE, 0, arg0=False, ext=True,
          group="Socket Types (nncat)",
          text="Use NNG's PAIR v1 socket type (protocol 17, one peer)"),
    _ext("dial", "", Kind.LIST_APPEND, "connect", None, ENDPOINT, 0, 0,
         "Socket Options (nncat)", "ADDR", "Same as --connect ADDR"),
    _ext("listen", "", Kind.LIST_APPEND, "bind", None, ENDPOINT, 0, 0,
         "Socket Options (nncat)", "ADDR", "Same as --bind ADDR"),
    _ext("receive-timeout", "", Kind.FLOAT, "recv_timeout", None, 0, 0, READABLE,
         "Socket Options (nncat)", "SEC", "Same as --recv-timeout SEC"),
    _ext("recv-maxsz", "", Kind.INT, "recv_maxsz", None, 0, 0, READABLE,
         "Socket Options (nncat)", "BYTES", "Largest message accepted (NN_RCVMAXSIZE; the "
         "default is 1048576, 0 or -1 means no limit)"),
    _ext("option", "o", Kind.SOCKOPT, "sockopts", None, 0, 0, 0,
         "Socket Options (nncat)", "SPEC", "Set any socket option: NAME=VALUE (e.g. "
         "RCVBUF=262144, REQ_RESEND_IVL=500, TCP_NODELAY=1) or LEVEL:NAME=VALUE (e.g. "
         "SOL_SOCKET:LINGER=0, SUB:SUBSCRIBE=abc, -3:1=1); may be repeated"),
    _ext("cacert", "", Kind.STRING, "cacert", None, 0, 0, 0,
         "TLS Options (nncat, for tls+tcp:// and wss://)", "FILE",
         "Verify the peer against the CA certificates in FILE"),
    _ext("cert", "E", Kind.STRING, "cert", None, 0, 0, 0,
         "TLS Options (nncat, for tls+tcp:// and wss://)", "FILE",
         "Present the certificate in FILE (it may hold the private key too)"),
    _ext("key", "", Kind.STRING, "key", None, 0, 0, 0,
         "TLS Options (nncat, for tls+tcp:// and wss://)", "FILE",
         "Private key of --cert, if not in the certificate file"),
    _ext("insecure", "k", Kind.FLAG, "insecure", 1, 0, 0, 0,
         "TLS Options (nncat, for tls+tcp:// and wss://)", None,
         "Do not verify the peer's certificate (testing only)"),
    _ext("count", "C", Kind.INT, "count", None, 0, 0, 0,
         "Loop Options (nncat)", "COUNT", "Stop after COUNT messages sent (sending sockets: "
         "PUSH, PUB, and REQ, SURVEYOR, BUS, PAIR with data), COUNT replies sent (REP, "
         "RESPONDENT with data) or COUNT messages received (the others); 0 means no limit"),
    _ext("stdin", "", Kind.FLAG, "stdin", 1, DATA, DATA, WRITEABLE,
         "Loop Options (nncat)", None, "Send each line read from standard input as one "
         "message (without its line ending), instead of --data; REP and RESPONDENT answer "
         "each request with the next line"),
    _ext("version", "V", Kind.VERSION, "", None, 0, 0, 0,
         "Generic (nncat)", None, "Print the version and exit"),
    _ext("compat", "", Kind.FLAG, "compat", 1, 0, 0, 0,
         "Generic (nncat)", None, "Accepted for nngcat scripts; nncat always behaves as "
         "nanocat (--pair is PAIR v0)"),
    _ext("async", "", Kind.FLAG, "async_", 1, 0, 0, 0,
         "Generic (nncat)", None, "Accepted for nngcat scripts; connecting is always "
         "asynchronous"),
]

for _name, _proto, _prov, _req in [
        ("push", nn.PUSH, SOCK_WRITEABLE, DATA), ("pull", nn.PULL, SOCK_READABLE, 0),
        ("pub", nn.PUB, SOCK_WRITEABLE, DATA), ("sub", nn.SUB, SOCK_READABLE | SOCK_SUB, 0),
        ("req", nn.REQ, SOCK_READWRITE, DATA), ("rep", nn.REP, SOCK_READWRITE, 0),
        ("surveyor", nn.SURVEYOR, SOCK_READWRITE, DATA),
        ("respondent", nn.RESPONDENT, SOCK_READWRITE, 0),
        ("bus", nn.BUS, SOCK_READWRITE, 0), ("pair", nn.PAIR, SOCK_READWRITE, 0)]:
    _EXTENSIONS.append(_sock(_name + "0", _proto, _prov, _req, arg0=False, ext=True,
                             alias=True, group="Aliases (as nngcat)",
                             text="Same as --%s" % _name))

OPTIONS: Tuple[Opt, ...] = tuple(_NANOCAT + _EXTENSIONS)


@dataclass
class Options:
    """The parsed command line (defaults are nanocat's)."""

    prog: str = "nncat"
    verbose: int = 0
    socket_type: int = 0
    bind: List[str] = field(default_factory=list)
    connect: List[str] = field(default_factory=list)
    send_timeout: float = -1.0
    recv_timeout: float = -1.0
    subscribe: List[bytes] = field(default_factory=list)
    socket_name: Optional[str] = None
    send_delay: float = 0.0
    send_interval: float = -1.0
    data: Optional[bytes] = None
    format: str = "no"
    # nncat's extensions
    recv_maxsz: Optional[int] = None
    sockopts: List[SockOpt] = field(default_factory=list)
    cacert: Optional[str] = None
    cert: Optional[str] = None
    key: Optional[str] = None
    insecure: int = 0
    count: int = 0
    stdin: int = 0
    compat: int = 0
    async_: int = 0

    @property
    def tls(self) -> bool:
        """Whether any TLS option was given."""
        return bool(self.cacert or self.cert or self.key or self.insecure)


class UsageExit(Exception):
    """Parsing ends: print *text* to stdout (help) or stderr, exit with *code*."""

    def __init__(self, code: int, text: str, to_stdout: bool = False) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.to_stdout = to_stdout


def prog_name(argv0: str) -> str:
    """The name messages use: ``nncat`` under ``python -m``, else argv[0]'s basename."""
    base = os.path.basename(argv0)
    if not base or base in ("__main__.py", "__main__"):
        return "nncat"
    if base.lower().endswith((".exe", ".py")):
        base = base.rsplit(".", 1)[0]
    return base


class _Parser:
    def __init__(self, argv: Sequence[str], stdin: Optional[IO[bytes]],
                 version: Callable[[], str]) -> None:
        self.argv0 = argv[0] if argv else "nncat"
        self.prog = prog_name(self.argv0)
        self.args = list(argv[1:])
        self.pos = 0
        self.mask = 0
        self.usage: dict[int, Tuple[str, str]] = {}
        self.out = Options(prog=self.prog)
        self.stdin = stdin
        self.version = version

    # -- messages ------------------------------------------------------------

    def _option(self, i: int) -> str:
        """How option *i* was spelt, in nanocat's words (``nn_print_option``)."""
        opt = OPTIONS[i]
        how, text = self.usage[i]
        if how == "long":
            olen = text.find("=")
            if olen < 0:
                olen = len(text)
            if olen != len(opt.long) + 2:
                return " %s[%s] " % (text[:olen], opt.long[olen - 2:])
            return " %s " % text
        if how == "arg0":
            return " %s (executable) " % text
        return " -%s (--%s) " % (text[0], opt.long)

    def _fail(self, text: str, code: int = 1) -> UsageExit:
        return UsageExit(code, text)

    def _option_error(self, message: str, i: int) -> UsageExit:
        return self._fail("%s: Option%s%s\n" % (self.prog, self._option(i), message))

    def _listing(self, mask: int) -> str:
        """``nn_print_requires``: nanocat's options providing any bit of *mask*."""
        lines = []
        for opt in OPTIONS:
            if opt.ext:
                continue
            if opt.provides & mask:
                lines.append("    --%s\n" % opt.long)
                if opt.short:
                    lines.append("    -%s\n" % opt.short)
        return "".join(lines)

    # -- processing ----------------------------------------------------------

    def process(self, i: int, arg: Optional[str]) -> None:
        opt = OPTIONS[i]
        if self.mask & opt.conflicts:
            text = "%s: Option%sconflicts with the following options:\n" % (
                self.prog, self._option(i))
            found = 0
            for j, other in enumerate(OPTIONS):
                if j != i and j in self.usage and other.provides & opt.conflicts:
                    found += 1
                    text += "   %s\n" % self._option(j)
            if not found:
                text += "   %s\n" % self._option(i)
            raise self._fail(text)
        self.mask |= opt.provides
        o = self.out
        kind = opt.kind
        if kind is Kind.HELP:
            raise UsageExit(0, help_text(self.prog, OPTIONS, REQUIRED), to_stdout=True)
        if kind is Kind.VERSION:
            raise UsageExit(0, "%s %s\n" % (self.prog, self.version()), to_stdout=True)
        if kind is Kind.INCREMENT:
            o.verbose += 1
            return
        if kind is Kind.DECREMENT:
            o.verbose -= 1
            return
        if kind is Kind.SET_ENUM or kind is Kind.FLAG:
            setattr(o, opt.dest, opt.value)
            return
        assert arg is not None
        if kind is Kind.INT:
            iv = parse_int(arg)
            if iv is None:
                raise self._option_error("requires integer argument", i)
            setattr(o, opt.dest, iv)
        elif kind is Kind.FLOAT:
            fv = parse_float(arg)
            if fv is None:
                raise self._option_error("requires float point argument", i)
            setattr(o, opt.dest, fv)
        elif kind is Kind.ENUM:
            if arg not in FORMATS:
                raise self._fail("%s: Invalid value ``%s'' for%s. Options are:\n%s" % (
                    self.prog, arg, self._option(i),
                    "".join("    %s\n" % f for f in FORMATS)))
            o.format = arg
        elif kind is Kind.STRING:
            setattr(o, opt.dest, arg)
        elif kind is Kind.BLOB:
            o.data = os.fsencode(arg)
        elif kind is Kind.LIST_APPEND:
            if opt.dest == "subscribe":
                o.subscribe.append(os.fsencode(arg))
            else:
                getattr(o, opt.dest).append(arg)
        elif kind is Kind.LIST_APPEND_FMT:
            getattr(o, opt.dest).append("%s%s" % (opt.value, arg))
        elif kind is Kind.READ_FILE:
            o.data = self._read_file(arg)
        elif kind is Kind.SOCKOPT:
            try:
                o.sockopts.append(parse_sockopt(arg))
            except SockOptError as e:
                raise self._option_error(str(e), i) from None

    def _read_file(self, path: str) -> bytes:
        if path == "-":
            stream = self.stdin if self.stdin is not None else sys.stdin.buffer
            try:
                return stream.read()
            except OSError as e:
                raise self._fail("Error reading file ``%s'': %s\n"
                                 % (path, os.strerror(e.errno or 0)), 2) from None
        if os.path.isdir(path):
            import errno
            raise self._fail("Error reading file ``%s'': %s\n"
                             % (path, os.strerror(errno.EISDIR)), 2)
        try:
            f = open(path, "rb")
        except OSError as e:
            raise self._fail("Error opening file ``%s'': %s\n"
                             % (path, os.strerror(e.errno or 0)), 2) from None
        try:
            with f:
                return f.read()
        except OSError as e:
            raise self._fail("Error reading file ``%s'': %s\n"
                             % (path, os.strerror(e.errno or 0)), 2) from None

    def _next_arg(self) -> Optional[str]:
        if self.pos >= len(self.args):
            return None
        arg = self.args[self.pos]
        self.pos += 1
        return arg

    def parse_arg0(self) -> None:
        base = os.path.basename(self.argv0)
        if base.lower().endswith(".exe"):
            base = base[:-4]
        for i, opt in enumerate(OPTIONS):
            if opt.arg0 and opt.arg0 == base:
                self.usage[i] = ("arg0", self.argv0)
                self.process(i, None)

    def parse_long(self, token: str) -> None:
        arg = token[2:]
        name = arg.split("=", 1)[0]
        best = -1
        if name:
            exact = [i for i, o in enumerate(OPTIONS) if o.long == name]
            if exact:
                best = exact[0]
            else:
                for ext in (False, True):
                    cands = [i for i, o in enumerate(OPTIONS)
                             if o.ext == ext and o.long.startswith(name)]
                    if len(cands) == 1:
                        best = cands[0]
                        break
                    if cands:
                        raise self._fail("%s: Ambiguous option ``%s'':\n%s" % (
                            self.prog, token,
                            "".join("    %s\n" % OPTIONS[c].long for c in cands)))
        if best < 0:
            raise self._fail("%s: Unknown option ``%s''\n" % (self.prog, token))
        opt = OPTIONS[best]
        self.usage[best] = ("long", token)
        if len(name) < len(arg):  # "--name=value"
            if not opt.has_arg:
                raise self._option_error("does not accept argument", best)
            self.process(best, arg[len(name) + 1:])
        elif opt.has_arg:
            value = self._next_arg()
            if value is None:
                raise self._option_error("requires an argument", best)
            self.process(best, value)
        else:
            self.process(best, None)

    def parse_short(self, token: str) -> None:
        data = token[1:]
        while data:
            for i, opt in enumerate(OPTIONS):
                if opt.short and opt.short == data[0]:
                    break
            else:
                raise self._fail("%s: Unknown option ``-%s''\n" % (self.prog, data[0]))
            self.usage[i] = ("short", data)
            if opt.has_arg:
                value: Optional[str] = data[1:]
                if not value:
                    value = self._next_arg()
                    if value is None:
                        raise self._option_error("requires an argument", i)
                self.process(i, value)
                data = ""
            else:
                self.process(i, None)
                data = data[1:]

    def check_requires(self) -> None:
        for i, opt in enumerate(OPTIONS):
            if i not in self.usage:
                continue
            if opt.requires and (opt.requires & self.mask) != opt.requires:
                raise self._fail(
                    "%s: Option%srequires at least one of the following options:\n%s"
                    % (self.prog, self._option(i), self._listing(opt.requires)))
        if (REQUIRED & self.mask) != REQUIRED:
            raise self._fail("%s: At least one of the following required:\n%s" % (
                self.prog, self._listing(REQUIRED & ~self.mask)))

    def run(self) -> Options:
        self.parse_arg0()
        while True:
            token = self._next_arg()
            if token is None:
                break
            if token.startswith("--"):
                if token != "--":
                    self.parse_long(token)
            elif token.startswith("-"):
                self.parse_short(token)
            else:
                raise self._fail("%s: Unexpected argument ``%s''\n" % (self.prog, token))
        self.check_requires()
        return self.out


def _default_version() -> str:
    try:
        from importlib.metadata import version
        return "%s (nanomsg-core)" % version("nanomsg-core")
    except Exception:
        return "(nanomsg-core)"


def parse(argv: Sequence[str], stdin: Optional[IO[bytes]] = None,
          version: Callable[[], str] = _default_version) -> Options:
    """Parse ``argv`` (``argv[0]`` included); :class:`UsageExit` on help or error."""
    return _Parser(argv, stdin, version).run()
