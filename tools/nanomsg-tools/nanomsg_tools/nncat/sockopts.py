"""``--option SPEC``: any socket option from the command line.

``SPEC`` is ``NAME=VALUE`` or ``LEVEL:NAME=VALUE``.

* ``NAME`` is a socket-level option (``LINGER``, ``SNDBUF``, ``RCVBUF``,
  ``SNDTIMEO``, ``RCVTIMEO``, ``RECONNECT_IVL``, ``RECONNECT_IVL_MAX``,
  ``SNDPRIO``, ``RCVPRIO``, ``IPV4ONLY``, ``SOCKET_NAME``, ``RCVMAXSIZE``,
  ``MAXTTL``), a qualified protocol or transport option (``REQ_RESEND_IVL``,
  ``SUB_SUBSCRIBE``, ``SUB_UNSUBSCRIBE``, ``SURVEYOR_DEADLINE``, and every
  option a plugin declared, such as ``TCP_NODELAY``), or a number.  Names
  are case-insensitive and may carry nanomsg's ``NN_`` prefix.
* ``LEVEL`` is ``SOL_SOCKET``, a protocol (``REQ``, ``SUB``, ``SURVEYOR``,
  any registered protocol name), a transport level (``INPROC``, ``IPC``,
  ``TCP``, ``WS``, ``TLS``) or a number; under a level the option may be
  named without its prefix (``SUB:SUBSCRIBE=news``, ``TCP:NODELAY=1``).
* ``VALUE`` is an integer (``0x`` hexadecimal allowed) for integer options
  and the text itself for string options (``SOCKET_NAME``, the
  subscriptions); an option nncat does not know by name takes an integer if
  ``VALUE`` reads as one, else the text.

Only the public API is used: names come from :func:`nanomsg_core.symbol`'s
table and the plugin registry's declared options.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import nanomsg_core as nn

__all__ = ["SockOpt", "SockOptError", "parse_sockopt"]


class SockOptError(ValueError):
    """The text of a bad ``--option`` argument, for the usage message."""


@dataclass(frozen=True)
class SockOpt:
    level: int
    option: int
    value: Any
    label: str
    """How to name the option in an error message (``RCVBUF``, ``-3:1``)."""


_SOL_NAMES = ("LINGER", "SNDBUF", "RCVBUF", "SNDTIMEO", "RCVTIMEO", "RECONNECT_IVL",
              "RECONNECT_IVL_MAX", "SNDPRIO", "RCVPRIO", "SNDFD", "RCVFD", "DOMAIN",
              "PROTOCOL", "IPV4ONLY", "SOCKET_NAME", "RCVMAXSIZE", "MAXTTL")
_STRINGS = {(nn.SOL_SOCKET, nn.SOCKET_NAME): str,
            (nn.SUB, nn.SUB_SUBSCRIBE): bytes, (nn.SUB, nn.SUB_UNSUBSCRIBE): bytes}
_TRANSPORT_LEVELS = {"INPROC": nn.INPROC, "IPC": nn.IPC, "TCP": nn.TCP, "WS": nn.WS,
                     "TLS": nn.TLS}
_INT_RE = re.compile(r"\s*([+-]?)(0x[0-9a-f]+|\d+)\s*\Z", re.IGNORECASE)


def _norm(name: str) -> str:
    n = name.strip().upper().replace("-", "_")
    return n[3:] if n.startswith("NN_") else n


def _int(text: str) -> Optional[int]:
    m = _INT_RE.match(text)
    if not m:
        return None
    sign, digits = m.groups()
    v = int(digits, 16 if digits[:2].lower() == "0x" else 10)
    return -v if sign == "-" else v


def _levels() -> Dict[str, int]:
    levels = {"SOL_SOCKET": nn.SOL_SOCKET, "SOCKET": nn.SOL_SOCKET}
    levels.update(_TRANSPORT_LEVELS)
    for const in ("PAIR", "PAIR1", "PUB", "SUB", "REQ", "REP", "PUSH", "PULL", "SURVEYOR",
                  "RESPONDENT", "BUS"):
        levels[const] = int(getattr(nn, const))
    try:
        for number, info in nn.get_registry().protocols.items():
            levels.setdefault(_norm(info.name), number)
            for alias in info.aliases:
                levels.setdefault(_norm(alias), number)
    except Exception:  # a broken plugin must not break the command line
        pass
    return levels


def _qualified() -> Dict[str, Tuple[int, int, Optional[type]]]:
    """Every option nncat knows by name: NAME -> (level, option, value type)."""
    names: Dict[str, Tuple[int, int, Optional[type]]] = {}
    for n in _SOL_NAMES:
        opt = int(getattr(nn, n))
        names[n] = (nn.SOL_SOCKET, opt, _STRINGS.get((nn.SOL_SOCKET, opt), int))
    for n, level in (("REQ_RESEND_IVL", nn.REQ), ("SUB_SUBSCRIBE", nn.SUB),
                     ("SUB_UNSUBSCRIBE", nn.SUB), ("SURVEYOR_DEADLINE", nn.SURVEYOR)):
        opt = int(getattr(nn, n))
        names[n] = (level, opt, _STRINGS.get((level, opt), int))
    try:
        for (level, opt), spec in nn.get_registry().options.items():
            names.setdefault(_norm(spec.name), (level, opt, spec.type))
    except Exception:
        pass
    return names


def _convert(text: str, kind: Optional[type], label: str) -> Any:
    if kind is str:
        return text
    if kind is bytes:
        return text.encode("utf-8", "surrogateescape")
    if kind is bool:
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise SockOptError("%s takes 0 or 1, not ``%s''" % (label, text))
    v = _int(text)
    if kind is int:
        if v is None:
            raise SockOptError("%s takes an integer, not ``%s''" % (label, text))
        return v
    return text if v is None else v


def parse_sockopt(spec: str) -> SockOpt:
    """``[LEVEL:]NAME=VALUE`` -> the :class:`SockOpt` to set; :class:`SockOptError`."""
    if "=" not in spec:
        raise SockOptError("requires NAME=VALUE or LEVEL:NAME=VALUE, not ``%s''" % spec)
    left, text = spec.split("=", 1)
    names = _qualified()
    if ":" in left:
        level_text, name = left.rsplit(":", 1)
        level = _int(level_text)
        if level is None:
            level = _levels().get(_norm(level_text))
        if level is None:
            raise SockOptError("unknown option level ``%s''" % level_text)
        opt = _int(name)
        kind: Optional[type] = None
        if opt is None:
            key = _norm(name)
            candidates = sorted(((n != key, o, k) for n, (lv, o, k) in names.items()
                                 if lv == level and (n == key or n.endswith("_" + key))),
                                key=lambda c: c[0])
            if not candidates:
                raise SockOptError("unknown option ``%s'' at level ``%s''"
                                   % (name, level_text))
            _, opt, kind = candidates[0]
        else:
            for lv, o, k in names.values():
                if (lv, o) == (level, opt):
                    kind = k
        return SockOpt(level, opt, _convert(text, kind, left), left)
    opt = _int(left)
    if opt is not None:  # a bare number: a socket-level option
        kind = None
        for lv, o, k in names.values():
            if (lv, o) == (nn.SOL_SOCKET, opt):
                kind = k
        return SockOpt(nn.SOL_SOCKET, opt, _convert(text, kind, left), left)
    found = names.get(_norm(left))
    if found is None:
        raise SockOptError("unknown socket option ``%s''" % left)
    level, opt, kind = found
    return SockOpt(level, opt, _convert(text, kind, left), left)
