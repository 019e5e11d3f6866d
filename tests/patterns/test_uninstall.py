"""Each pattern can go alone: the others keep working (NANOMSG_DISABLE_PLUGINS)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.timeout(60)

SCRIPT = textwrap.dedent("""
    import errno, sys
    import nanomsg_core as nn

    gone = [g for g in sys.argv[1].split(",") if g]
    dists = {"pubsub": "nanomsg-pubsub", "pipeline": "nanomsg-pipeline", "bus": "nanomsg-bus"}
    names = {"pubsub": ["pub", "sub", nn.PUB, nn.SUB],
             "pipeline": ["push", "pull", "fanout", "fanin", "source", "sink",
                          nn.PUSH, nn.PULL],
             "bus": ["bus", nn.BUS]}

    for plugin in gone:
        for which in names[plugin]:
            try:
                nn.Socket(nn.AF_SP, which).close()
            except nn.NanomsgError as e:
                assert e.errno == errno.EPROTONOSUPPORT, e
                assert dists[plugin] in str(e), str(e)
            else:
                raise AssertionError("%r still available" % (which,))

    def pair(a, b, url, sub=False):
        with nn.Socket(nn.AF_SP, a) as x, nn.Socket(nn.AF_SP, b) as y:
            y.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 5000)
            if sub:
                y.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"")
            x.bind(url)
            y.connect(url)
            x.send(b"still here")
            assert y.recv() == b"still here"

    if "pipeline" not in gone:
        pair(nn.PUSH, nn.PULL, "inproc://u-pipeline")
    if "pubsub" not in gone:
        pair(nn.PUB, nn.SUB, "inproc://u-pubsub", sub=True)
    if "bus" not in gone:
        pair(nn.BUS, nn.BUS, "inproc://u-bus")
    pair(nn.PAIR, nn.PAIR, "inproc://u-pair")
    print("OK")
""")


@pytest.mark.parametrize("disabled,arg", [
    ("pubsub", "pubsub"), ("pipeline", "pipeline"), ("bus", "bus"),
    ("nanomsg-pubsub", "pubsub"), ("nanomsg-bus,nanomsg-pipeline", "bus,pipeline"),
    ("", ""),
])
def test_disable_one_pattern(disabled: str, arg: str) -> None:
    env = dict(os.environ, NANOMSG_DISABLE_PLUGINS=disabled)
    gone = arg.split(",") if arg else []
    out = subprocess.run([sys.executable, "-c", SCRIPT, ",".join(gone)], env=env,
                         capture_output=True, text=True, timeout=50)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "OK"
