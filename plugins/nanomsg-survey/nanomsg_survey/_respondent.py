"""RESPONDENT v0 (protocol 99): answer surveys, each on the pipe it came from.

The behaviour is shared with REP and lives in :mod:`nanomsg_core.protokit.replier`:
cooked ``recv`` records the survey's pipe and backtrace, ``send`` answers it
there (or drops the answer if that pipe is gone), ``send`` with no survey
pending is ``EFSM``; as in nanomsg, a later ``recv`` abandons a survey left
unanswered.  Raw RESPONDENT hands the backtrace (with the incoming pipe id
pushed) to the application and routes answers by it.
"""

from __future__ import annotations

from typing import Union

from nanomsg_core.interfaces import ProtocolHost
from nanomsg_core.protokit.replier import RawReplier, Replier, ReplyContext

__all__ = ["Respondent", "RespondentContext", "XRespondent", "new_respondent"]

RespondentContext = ReplyContext


class XRespondent(RawReplier):
    """Raw RESPONDENT."""

    NAME = "RESPONDENT"


class Respondent(Replier):
    """Cooked RESPONDENT: one survey answered at a time per context."""

    NAME = "RESPONDENT"


def new_respondent(host: ProtocolHost) -> Union[Respondent, XRespondent]:
    """The RESPONDENT factory: raw or cooked by ``host.raw``."""
    return XRespondent(host) if host.raw else Respondent(host)
