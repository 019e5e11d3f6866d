"""The core's own plugin: registers the default poller through the public hook."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hookspecs import hookimpl

if TYPE_CHECKING:
    from ._registry import Registry


@hookimpl
def nanomsg_core_register(registry: "Registry") -> None:
    from ..engine._selector_poller import SelectorPoller
    registry.add_poller("selectors", SelectorPoller, priority=0, distribution="nanomsg-core")
