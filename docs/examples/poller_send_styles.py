"""The poller send contract, both styles: the conformance check `send_partial`
passes for the readiness default (`selectors`: a short prefix) and, when
nanomsg-iocp is installed, for its completion logic over the socket fake (the
send stays pending until the peer reads).  See docs/writing-a-poller.md."""

import nanomsg_core as nn
from nanomsg_core.testing import POLLER_CHECKS, check_poller

ONLY = set(POLLER_CHECKS) - {"send_partial"}

default = nn.get_registry().default_poller()
check_poller(default.factory, skip=ONLY)
print("send_partial passes for the default poller (%s)" % default.name)
try:
    from nanomsg_iocp._fake import fake_poller
except ImportError:
    print("nanomsg-iocp is not installed: no completion-style poller to check")
else:
    check_poller(fake_poller, skip=ONLY)
    print("send_partial passes for the iocp completion logic (socket fake)")
