"""The suite's guard against Wine's spurious CreateProcess failure retries that
failure only, and not forever."""

from __future__ import annotations

import pytest

from tests.support import WINE_CREATE_PROCESS_FLAKE, retrying_create_process

pytestmark = pytest.mark.timeout(30)


def failure(winerror: int) -> OSError:
    exc = OSError("CreateProcess failed")
    exc.winerror = winerror  # type: ignore[attr-defined]  # set by CPython on Windows only
    return exc


class FakeCreateProcess:
    def __init__(self, *errors: OSError) -> None:
        self.errors = list(errors)
        self.calls: list[tuple[object, ...]] = []

    def __call__(self, *args: object) -> object:
        self.calls.append(args)
        if self.errors:
            raise self.errors.pop(0)
        return ("process", "thread", 41, 42)


def test_the_wine_flake_is_retried_with_the_same_arguments() -> None:
    fake = FakeCreateProcess(failure(WINE_CREATE_PROCESS_FLAKE), failure(WINE_CREATE_PROCESS_FLAKE))
    create = retrying_create_process(fake, attempts=5, pause=0)
    assert create("python.exe", "-c pass") == ("process", "thread", 41, 42)
    assert fake.calls == [("python.exe", "-c pass")] * 3


def test_any_other_error_is_raised_at_once() -> None:
    fake = FakeCreateProcess(failure(2))                      # ERROR_FILE_NOT_FOUND
    create = retrying_create_process(fake, attempts=5, pause=0)
    with pytest.raises(OSError) as info:
        create("missing.exe")
    assert getattr(info.value, "winerror") == 2
    assert len(fake.calls) == 1


def test_a_flake_that_persists_is_raised_after_the_last_attempt() -> None:
    fake = FakeCreateProcess(*[failure(WINE_CREATE_PROCESS_FLAKE) for _ in range(9)])
    create = retrying_create_process(fake, attempts=4, pause=0)
    with pytest.raises(OSError) as info:
        create("python.exe")
    assert getattr(info.value, "winerror") == WINE_CREATE_PROCESS_FLAKE
    assert len(fake.calls) == 4
