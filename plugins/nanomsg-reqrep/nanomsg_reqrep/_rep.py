"""REP v0 (protocol 49): receive requests, answer each on the pipe it came from.

The behaviour is shared with RESPONDENT and lives in
:mod:`nanomsg_core.protokit.replier`: cooked ``recv`` records the request's pipe and
backtrace, ``send`` answers it there (or drops the reply if that pipe is
gone), ``send`` with no request pending is ``EFSM``; raw REP hands the
backtrace (with the incoming pipe id pushed) to the application and routes
replies by it.
"""

from __future__ import annotations

from typing import Union

from nanomsg_core.interfaces import ProtocolHost
from nanomsg_core.protokit.replier import RawReplier, Replier, ReplyContext

__all__ = ["Rep", "RepContext", "XRep", "new_rep"]

RepContext = ReplyContext


class XRep(RawReplier):
    """Raw REP."""

    NAME = "REP"


class Rep(Replier):
    """Cooked REP: one request answered at a time per context."""

    NAME = "REP"


def new_rep(host: ProtocolHost) -> Union[Rep, XRep]:
    """The REP factory: raw or cooked by ``host.raw``."""
    return XRep(host) if host.raw else Rep(host)
