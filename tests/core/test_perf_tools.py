"""The perf commands take nanomsg's arguments and print nanomsg's report lines."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Optional

import pytest

from tests.support import LINUX_ONLY_ABSTRACT, WINE


def run(*argv: str, env: Optional[dict[str, str]] = None) -> subprocess.Popen[str]:
    exe = shutil.which(argv[0])
    cmd = [exe, *argv[1:]] if exe else [sys.executable, "-c",
                                          "import sys; from nanomsg_tools import perf; "
                                          "perf.%s(sys.argv[1:])" % argv[0], *argv[1:]]
    full = dict(os.environ, **(env or {}))
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=full)


def test_inproc_tools() -> None:
    out, err = run("inproc_lat", "64", "2000").communicate(timeout=60)
    assert re.search(r"average latency: [0-9.]+ \[us\]", out), err
    out, err = run("inproc_thr", "64", "20000").communicate(timeout=60)
    assert "message count: 20000" in out, err
    assert re.search(r"mean throughput: \d+ \[msg/s\]", out), out      # nanomsg's wording


@pytest.mark.parametrize("scheme", ["tcp", "ipc"])
def test_local_remote_pairs(scheme: str, tcp_url: str, ipc_url: str) -> None:
    url = tcp_url if scheme == "tcp" else ipc_url
    local = run("local_lat", url, "512", "500")
    remote = run("remote_lat", url, "512", "500")
    out, err = remote.communicate(timeout=60)
    local.communicate(timeout=30)
    assert "roundtrip count: 500" in out and "average latency" in out, err
    assert local.returncode == 0 and remote.returncode == 0

    local = run("local_thr", url, "1024", "5000")
    remote = run("remote_thr", url, "1024", "5000")
    out, err = local.communicate(timeout=60)
    remote.communicate(timeout=30)
    assert "message size: 1024 [B]" in out and re.search(r"throughput: \d+ \[msg/s\]", out), err
    assert local.returncode == 0 and remote.returncode == 0


def test_usage_error() -> None:
    p = run("inproc_lat", "64")
    out, err = p.communicate(timeout=30)
    assert p.returncode == 1 and out.startswith("usage: ")     # stdout, as nanomsg


@pytest.mark.timeout(300)
def test_live_rate_on_stderr() -> None:
    # long enough to outlast the 0.5 s between progress lines on a fast socket;
    # a slow one takes long (44 s alone under Wine on a slow machine): the
    # deadlines are generous, the count is not cut
    p = run("inproc_lat", "64", "150000", env={"NN_PERF_PROGRESS": "1"})
    out, err = p.communicate(timeout=240)
    assert p.returncode == 0 and "average latency" in out
    assert "roundtrips" in err and "/s" in err


def _pair(url: str, env: Optional[dict[str, str]] = None) -> None:
    local = run("local_thr", url, "256", "3000", env=env)
    remote = run("remote_thr", url, "256", "3000", env=env)
    out, err = local.communicate(timeout=60)
    rout, rerr = remote.communicate(timeout=30)
    assert local.returncode == 0 and remote.returncode == 0, err + rerr
    assert "message count: 3000" in out, err + rerr


@LINUX_ONLY_ABSTRACT
def test_abstract_and_ws(free_port: int) -> None:
    _pair("abstract://perf-%s" % uuid.uuid4().hex)
    _pair("ws://127.0.0.1:%d/perf" % free_port)


def test_tls_from_the_environment(tmp_path: Path, free_port: int) -> None:
    if WINE is not None:
        try:
            import cryptography.hazmat.bindings._rust  # noqa: F401
        except ImportError as e:
            pytest.xfail("Wine %s cannot load cryptography's Rust extension (%s), so trustme "
                         "cannot make the certificates" % (WINE, e))
    import trustme
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "cert.pem"))
    env = {"NN_TLS_CA": str(tmp_path / "ca.pem"), "NN_TLS_CERT": str(tmp_path / "cert.pem")}
    _pair("tls+tcp://127.0.0.1:%d" % free_port, env)
