"""``nncat``: a command-line peer for the scalability protocols, nanocat-compatible.

``python -m nanomsg_tools.nncat --help`` or the ``nncat`` console script; see
docs/nncat.md.  :func:`run` runs it in-process (argv, streams) and returns
the exit status.
"""

from __future__ import annotations

from .main import main, run

__all__ = ["main", "run"]
