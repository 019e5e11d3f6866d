"""Registers REQ (48) and REP (49) with nanomsg_core."""

from __future__ import annotations

from nanomsg_core import REP, REQ, REQ_RESEND_IVL, Registry, hookimpl

from ._rep import new_rep
from ._req import new_req


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_protocol(REQ, "req", REP, new_req, distribution="nanomsg-reqrep",
                          options={REQ_RESEND_IVL: "REQ_RESEND_IVL"})
    registry.add_protocol(REP, "rep", REQ, new_rep, distribution="nanomsg-reqrep")
