"""The conformance kit: contract checks a plugin author runs against their own
transport, protocol or poller, from any test runner.

Each ``check_*`` function exercises one implementation against the contract
in :mod:`nanomsg_core.interfaces` and raises :class:`AssertionError` with a
message saying which rule was broken.  They are re-exported from
:mod:`nanomsg_core.testing`; ``docs/conformance.md`` describes every check.
"""

from __future__ import annotations

from .poller import POLLER_CHECKS, check_poller
from .protocol import PROTOCOL_CHECKS, check_protocol
from .transport import TRANSPORT_CHECKS, check_transport

__all__ = ["POLLER_CHECKS", "PROTOCOL_CHECKS", "TRANSPORT_CHECKS", "check_poller",
           "check_protocol", "check_transport"]
