"""What every ``check_*`` runner does first: validate ``skip=`` and pick the checks."""

from __future__ import annotations

from typing import Iterable, Mapping, TypeVar

C = TypeVar("C")


def selected(checks: Mapping[str, C], skip: Iterable[str], kind: str) -> list[tuple[str, C]]:
    """The ``(name, check)`` pairs of *checks* not named in *skip*, in order.

    ``ValueError`` (before anything runs) if *skip* names a check that is
    not in *checks*; *kind* (``"poller"``) goes into its message.
    """
    skipped = set(skip)
    unknown = skipped - set(checks)
    if unknown:
        raise ValueError("unknown %s checks in skip=: %s" % (kind, ", ".join(sorted(unknown))))
    return [(name, check) for name, check in checks.items() if name not in skipped]
