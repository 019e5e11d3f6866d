"""Which build runs, and the class markers of the compiled one.

``COMPILED`` is True when this process runs the mypyc-compiled build of the
core and built-in plugins (``NANOMSG_COMPILE=1 bash scripts/install.sh``),
False in the pure-Python build, the default; see docs/compiled-build.md.

``mypyc_attr`` and ``trait`` are ``mypy_extensions``' markers when it is
installed (it ships with mypy, which the compiled build needs), otherwise
stand-ins returning the class unchanged: the pure-Python build needs no
extra package, and the markers change nothing in it.  A plugin compiled
with mypyc may use them; an interpreted plugin never needs them.
"""

from __future__ import annotations

import types
from typing import Callable, TypeVar

_T = TypeVar("_T")


def _same(cls: _T) -> _T:
    return cls


try:
    from mypy_extensions import mypyc_attr, trait
except ImportError:  # the pure-Python build, without mypy_extensions
    def mypyc_attr(*attrs: str, **kwattrs: object) -> Callable[[_T], _T]:
        """Stand-in for ``mypy_extensions.mypyc_attr``: the class as it is."""
        return _same

    def trait(cls: _T) -> _T:
        """Stand-in for ``mypy_extensions.trait``: the class as it is."""
        return cls

# mypyc turns this module's functions into builtins: a compiled module knows itself
COMPILED: bool = not isinstance(_same, types.FunctionType)

__all__ = ["COMPILED", "mypyc_attr", "trait"]
