"""memstream:// (docs/examples/transports/memstream.py, the walkthrough of
docs/plugins.md): a transport over an in-memory byte stream, built from the
stream kit's Handshake and StreamPipe, passes the transport conformance kit
-- LINGER, back-pressure and a peer gone midstream included -- and its
stream keeps the ByteStream contract."""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

import nanomsg_core as nn
from nanomsg_core.testing import TRANSPORT_CHECKS, check_transport

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "transports" / "memstream.py"
_names = itertools.count()


def _load() -> ModuleType:
    mod = sys.modules.get("memstream_example")
    if mod is None:
        spec = importlib.util.spec_from_file_location("memstream_example", EXAMPLE)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules["memstream_example"] = mod
        spec.loader.exec_module(mod)
        nn.register_plugin(mod.MemStreamTransport())
    return mod


@pytest.fixture(scope="module")
def memstream() -> ModuleType:
    return _load()


def new_url() -> str:
    return "memstream://t-%d-%d" % (os.getpid(), next(_names))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("check", sorted(TRANSPORT_CHECKS))
def test_conformance(memstream: ModuleType, check: str) -> None:
    check_transport(new_url, only=[check])
