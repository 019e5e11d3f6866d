"""TLS probes of ``tests.reliability.measure`` (run by hand).

* ``stalled``: N TCP connections to a tls+tcp listener, half never sending a
  byte, half sending a ClientHello and then nothing; the victim's peak RSS
  growth while they are open, whether an unrelated tcp REP of the same
  process answers meanwhile, and the RSS growth that remains 2 s after they
  are dropped.  C nanomsg has no TLS.
"""

from __future__ import annotations

import os
import socket
import ssl
import tempfile
import time
from typing import Any

from tests.reliability.probes_victim import (
    Victim, client_ssl, free_port, host_port, sp_peer, sp_request)


class Certs:
    """A throw-away CA and a server certificate for 127.0.0.1 and localhost."""

    def __init__(self) -> None:
        import trustme
        self.dir = tempfile.TemporaryDirectory(prefix="nnmeasure-")
        ca = trustme.CA()
        self.cafile = os.path.join(self.dir.name, "ca.pem")
        self.certfile = os.path.join(self.dir.name, "server.pem")
        ca.cert_pem.write_to_path(self.cafile)
        ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(
            self.certfile)

    def client(self) -> ssl.SSLContext:
        return client_ssl(self.cafile)

    def close(self) -> None:
        self.dir.cleanup()


def _client_hello(addr: tuple[str, int]) -> socket.socket:
    """A connection that sent its ClientHello and will never say more."""
    c = socket.create_connection(addr, timeout=10)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="127.0.0.1")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    c.sendall(out.read())
    return c


def _answers(url: str, certs: Certs, tls: bool) -> bool:
    try:
        c = sp_peer(host_port(url), "req", tls=certs.client() if tls else None, timeout=3)
        with c:
            return sp_request(c, 5, b"still there?") == b"still there?"
    except OSError:
        return False


def stalled(impl: str, certs: Certs, n: int = 300) -> dict[str, Any]:
    if impl == "c":
        return {"na": True}
    tcp = "tcp://127.0.0.1:%d" % free_port()
    tls = "tls+tcp://127.0.0.1:%d" % free_port()
    with Victim(impl, certs.certfile, rep=tcp, rep_tls=tls) as v:
        assert _answers(tls, certs, True), "%s: no tls+tcp round trip" % impl
        time.sleep(0.3)
        base = v.ask()["rss"]
        addr = host_port(tls)
        held = [socket.create_connection(addr, timeout=10) for _ in range(n // 2)]
        held += [_client_hello(addr) for _ in range(n - n // 2)]
        peak, answered = base, True
        t_end = time.monotonic() + 1.5
        while time.monotonic() < t_end:
            peak = max(peak, v.ask()["rss"])
            answered = answered and _answers(tcp, certs, False)
            time.sleep(0.1)
        for c in held:
            c.close()
        time.sleep(2.0)
        after = v.ask()["rss"]
        return {"peak_mib": (peak - base) / 1024, "after_mib": (after - base) / 1024,
                "tcp_rep": answered, "tls_after": _answers(tls, certs, True),
                "alive": v.alive()}
