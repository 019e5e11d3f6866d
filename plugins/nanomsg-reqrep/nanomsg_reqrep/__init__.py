"""nanomsg-reqrep: the REQ/REP scalability protocols for nanomsg_core."""

from __future__ import annotations

from nanomsg_core import REP, REQ, REQ_RESEND_IVL

from ._rep import Rep, RepContext, XRep, new_rep
from ._req import Req, ReqContext, ReqCtx, XReq, new_req

__all__ = ["REP", "REQ", "REQ_RESEND_IVL", "Rep", "RepContext", "Req", "ReqContext",
           "ReqCtx", "XRep", "XReq", "new_rep", "new_req"]
