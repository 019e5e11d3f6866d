"""Every hook nanomsg_core calls, in one place (pluggy, project ``nanomsg_core``).

A plugin is any object or module with functions marked ``@hookimpl`` and
named like a spec below.  Distributions announce their plugin under the
entry-point group ``nanomsg_core.plugins``::

    [project.entry-points."nanomsg_core.plugins"]
    pair = "nanomsg_pair._plugin"

The built-in protocols, transports and the default poller load through the
very same path.  Set ``NANOMSG_DISABLE_PLUGINS=pair,tcp`` (entry-point or
distribution names) to keep plugins from loading.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ._registry import Registry

PROJECT = "nanomsg_core"
ENTRY_POINT_GROUP = "nanomsg_core.plugins"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def nanomsg_core_register(registry: "Registry") -> None:
    """Add protocols, transports and pollers to *registry*.

    Called once per plugin when the registry is first needed (the first
    ``Socket``) or when the plugin is registered later at run time.  Use
    ``registry.add_protocol(...)``, ``registry.add_transport(...)`` and
    ``registry.add_poller(...)``; never keep the registry for later.  A name,
    number or scheme registered twice keeps the first registration.
    """
