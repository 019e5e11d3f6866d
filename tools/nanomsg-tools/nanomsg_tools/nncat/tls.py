"""``--cacert/--cert/--key/--insecure`` -> an :class:`ssl.SSLContext` for ``nn.TLS_CONFIG``.

One context is made for the listening side (set before ``--bind``) and one
for the dialing side (set before ``--connect``), as a TLS server and a TLS
client need different contexts:

* dialer: verifies the server against ``--cacert`` (else the system's CA
  store) and its host name, unless ``--insecure``; presents ``--cert`` if
  given (client authentication);
* listener: presents ``--cert`` (with ``--key``, or the key inside the
  certificate file); with ``--cacert`` (and without ``--insecure``) it also
  requires and verifies a client certificate.
"""

from __future__ import annotations

import ssl
from typing import Optional

__all__ = ["TlsSetupError", "make_context"]


class TlsSetupError(Exception):
    """A certificate or key file could not be used (the message says which)."""


def make_context(*, server: bool, cacert: Optional[str], cert: Optional[str],
                 key: Optional[str], insecure: bool) -> ssl.SSLContext:
    if server and not cert:
        raise TlsSetupError("a TLS listener (--bind) needs --cert FILE")
    proto = ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT
    ctx = ssl.SSLContext(proto)
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    try:
        if cacert:
            what = cacert
            ctx.load_verify_locations(cafile=cacert)
            if server and not insecure:
                ctx.verify_mode = ssl.CERT_REQUIRED
        elif not server and not insecure:
            what = "the default CA store"
            ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
        if cert:
            what = cert if key is None else "%s / %s" % (cert, key)
            ctx.load_cert_chain(certfile=cert, keyfile=key)
        elif key:
            raise TlsSetupError("--key %s needs --cert" % key)
    except (OSError, ssl.SSLError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise TlsSetupError("%s: %s" % (what, reason)) from None
    return ctx
