"""After the README's install, mypy --strict on a user's own file sees our types."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

USER_CODE = '''
import nanomsg_core as nn

def serve(url: str) -> bytes:
    with nn.Socket(nn.AF_SP, nn.REP, bind=url, recv_timeout=100) as s:
        data: bytes = s.recv()
        s.send(data)
        return data

n: int = nn.Socket(nn.AF_SP, nn.PAIR).get_statistic(nn.STAT_MESSAGES_SENT)
'''

WRONG = '''
import nanomsg_core as nn
x: str = nn.Socket(nn.AF_SP, nn.PAIR).recv()
'''


def _mypy(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    f = tmp_path / "user_app.py"
    f.write_text(code)
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                           str(f)], capture_output=True, text=True, cwd=tmp_path, timeout=120)


@pytest.mark.timeout(240)
def test_user_code_type_checks_against_the_installed_package(tmp_path: Path) -> None:
    ok = _mypy(tmp_path, USER_CODE)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = _mypy(tmp_path, WRONG)       # proves mypy really sees our annotations
    assert bad.returncode == 1 and "bytes" in bad.stdout, bad.stdout
