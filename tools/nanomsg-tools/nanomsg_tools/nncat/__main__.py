"""``python -m nanomsg_tools.nncat``."""

from __future__ import annotations

from .main import main

if __name__ == "__main__":
    main()
