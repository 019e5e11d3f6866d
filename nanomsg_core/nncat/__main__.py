"""``python -m nanomsg_core.nncat``."""

from __future__ import annotations

from .main import main

if __name__ == "__main__":
    main()
