"""The examples of docs/transports-ws.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "transports-ws.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_doc_has_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("n", range(len(BLOCKS)))
def test_example_runs(n: int, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(BLOCKS[n], "%s[%d]" % (DOC.name, n), "exec"), {"__name__": "__doc_example__"})
    out = capsys.readouterr().out
    expected = {0: ["echo: hello"], 1: ["over TLS", "wss"], 2: ["all 3000 arrived, in order"],
                3: ["[b'hello'] [b'\\x8a\\x02hi']"]}
    assert all(e in out for e in expected[n]), out
