"""mypy on a user's file: the option keywords, the option properties and the
send family are typed, so the mistakes a new user makes are caught before
the program runs, and correct code passes ``--strict``.

Each line of ``MISTAKES`` that must fail carries ``# E: <mypy code>``; the
test asserts mypy reports exactly those lines with those codes, so a
silently widened annotation (``Any``) fails it.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

import nanomsg_core as nn

CORRECT = '''
import asyncio
from typing_extensions import Unpack
import nanomsg_core as nn


def open_pair(url: str, **options: Unpack[nn.SocketOptions]) -> nn.Socket:
    return nn.Socket(nn.AF_SP, nn.PAIR, bind=url, **options)


s = open_pair("inproc://typed", recv_timeout=100, name="typed", linger=0)
t: int = s.recv_timeout
s.recv_timeout = 200
s.send_buffer_size = s.recv_buffer_size * 2
label: str = s.name
s.name = "renamed"
n: int = s.send(b"x") + s.send(bytearray(b"x")) + s.send(memoryview(b"x"))
ctx = nn.Socket(nn.AF_SP, nn.REQ).context()
m: int = ctx.send(b"x")
ctx.recv_timeout = 5


async def main() -> bytes:
    await s.asend(b"x")
    await ctx.asend(bytearray(b"y"))
    return await s.arecv()

asyncio.run(main())
'''

MISTAKES = '''
import nanomsg_core as nn

s = nn.Socket(nn.AF_SP, nn.PAIR, recv_timout=100)  # E: call-arg
s = nn.Socket(nn.AF_SP, nn.PAIR, recv_timeout="100")  # E: arg-type
s.recv_timeout = "100"  # E: assignment
s.name = 3  # E: assignment
x: str = s.send_timeout  # E: assignment
s.send("str")  # E: arg-type
s.send_msg(b"body")  # E: arg-type
nn.Socket(nn.AF_SP, nn.REQ).context().send("str")  # E: arg-type


async def main() -> None:
    await s.asend("str")  # E: arg-type
'''


def _mypy(tmp_path: Path, name: str, code: str) -> subprocess.CompletedProcess[str]:
    f = tmp_path / name
    f.write_text(code)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--show-error-codes",
         "--no-error-summary", "--hide-error-context", str(f)],
        capture_output=True, text=True, cwd=tmp_path, timeout=400)


def _expected(code: str) -> set[tuple[int, str]]:
    return {(no, m.group(1)) for no, line in enumerate(code.splitlines(), 1)
            if (m := re.search(r"# E: ([\w-]+)", line))}


def _reported(out: str) -> set[tuple[int, str]]:
    return {(int(m.group(1)), m.group(2))
            for m in re.finditer(r":(\d+): error: .*\[([\w-]+)\]$", out, re.M)}


@pytest.mark.timeout(600)
def test_mypy_accepts_correct_code(tmp_path: Path) -> None:
    ok = _mypy(tmp_path, "user_ok.py", CORRECT)
    assert ok.returncode == 0, ok.stdout + ok.stderr


@pytest.mark.timeout(600)
def test_mypy_rejects_each_mistake_on_its_line(tmp_path: Path) -> None:
    bad = _mypy(tmp_path, "user_bad.py", MISTAKES)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert _reported(bad.stdout) == _expected(MISTAKES), bad.stdout
    assert '"recv_timout"' in bad.stdout       # the message names the misspelt keyword


@pytest.mark.skipif(nn.COMPILED, reason="inspect cannot read a mypyc-compiled function's signature; "
                    "IDEs read the .py sources, installed beside the extension modules")
def test_the_signature_an_ide_reads_names_the_options() -> None:
    param = inspect.signature(nn.Socket).parameters["options"]
    assert param.kind is param.VAR_KEYWORD and param.annotation == "Unpack[SocketOptions]"
    keys = set(typing.get_type_hints(nn.SocketOptions))
    assert keys == set(nn.Socket.OPTION_NAMES)
    for key in keys:                        # each keyword is also a typed property
        assert isinstance(nn.Socket.__dict__[key], nn.registry._options.SocketOption), key


def test_a_misspelt_keyword_still_fails_at_run_time() -> None:
    with pytest.raises(TypeError, match="recv_timout"):
        nn.Socket(nn.AF_SP, nn.PAIR, recv_timout=100)  # type: ignore[call-arg]
