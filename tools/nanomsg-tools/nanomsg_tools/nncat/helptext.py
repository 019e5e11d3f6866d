"""``nncat --help``, laid out as nanocat's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence, Tuple

if TYPE_CHECKING:
    from .options import Opt

__all__ = ["help_text"]

def _wrap_piece(text: str, width: int) -> Tuple[str, str]:
    if len(text) < width:
        return text, ""
    for i in range(width, 1, -1):
        if i < len(text) and text[i] in " \t\n\v\f\r":
            return text[:i], text[i + 1:]
    return text, ""


def _usage_line(prog: str, options: Sequence["Opt"], required: int) -> str:
    parts = ["    %s " % prog]
    req = [o for o in options if o.provides & required and not o.alias]
    if req:
        parts.append("{%s} " % "|".join("--" + o.long for o in req))
    rest = [o for o in options if not (o.provides & required)]
    flags = "".join(o.short for o in rest if o.short and not o.has_arg)
    if flags:
        parts.append("[-%s] " % flags)
    for o in rest:
        if o.short and o.has_arg and o.metavar:
            parts.append("[-%s %s] " % (o.short, o.metavar))
    parts.append("[options] \n")
    return "".join(parts)


def help_text(prog: str, options: Sequence["Opt"], required: int) -> str:
    """``--help``: *options* (the parser's table) in nanocat's layout; the
    options that provide a bit of *required* head the usage line."""
    out = ["Usage:\n", _usage_line(prog, options, required), "\nA command-line interface to nanomsg\n"]
    group: Optional[str] = None
    pad = " " * 24
    for o in options:
        if o.group != group:
            out.append("\n%s:\n" % o.group)
            group = o.group
        line = " --%s" % o.long
        if o.short:
            line += ",-%s" % o.short
        if o.has_arg:
            line += " %s" % (o.metavar or "ARG")
        out.append(line)
        cursor = o.help
        if len(line) < 23:
            out.append(pad[len(line):])
            piece, cursor = _wrap_piece(cursor, 80 - 24)
            out.append(piece)
        while cursor:
            out.append("\n" + pad)
            piece, cursor = _wrap_piece(cursor, 80 - 24)
            out.append(piece)
        out.append("\n")
    return "".join(out)
