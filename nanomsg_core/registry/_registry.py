"""The typed registry of protocols, transports and pollers, filled by plugins.

Theory of operation: one pluggy ``PluginManager`` per process loads the
entry points of group ``nanomsg_core.plugins`` (minus those blocked by
``NANOMSG_DISABLE_PLUGINS``), then calls ``nanomsg_core_register`` once per
plugin with a :class:`Registry`.  Lookups of unknown names raise
``EPROTONOSUPPORT`` naming the distribution that would provide them.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Union

import pluggy

from . import _hooks
from .. import hookspecs
from ._catalog import KNOWN_LEVELS, KNOWN_NAMES, KNOWN_PROTOCOLS, KNOWN_SCHEMES
from ._options import OptionSpec
from ..errors import NanomsgError
from ..interfaces import Poller, ProtocolFactory, Transport

__all__ = ["OptionSpec", "PollerInfo", "ProtocolInfo", "Registry", "get_registry",
           "register_plugin", "unregister_plugin"]

def _level_hint(level: int) -> str:
    dist = KNOWN_LEVELS.get(level)
    return " (options of level %d come with %s)" % (level, dist) if dist else ""


@dataclass(frozen=True)
class ProtocolInfo:
    """A registered scalability protocol (one socket type)."""

    number: int
    name: str
    peer: int
    factory: ProtocolFactory
    distribution: str = ""
    aliases: tuple[str, ...] = ()
    options: Mapping[int, str] = field(default_factory=dict)
    """The protocol level's options by number, with their names (for errors
    that point a misplaced option at its level)."""


@dataclass(frozen=True)
class PollerInfo:
    """A registered poller backend."""

    name: str
    factory: Callable[[], Poller]
    platforms: tuple[str, ...] = ()
    """``sys.platform`` prefixes it runs on; empty = everywhere."""
    priority: int = 0
    """The highest priority usable poller becomes the default."""
    distribution: str = ""


@dataclass
class Registry:
    """Protocols by number and name, transports by scheme, pollers by name."""

    protocols: dict[int, ProtocolInfo] = field(default_factory=dict)
    names: dict[str, int] = field(default_factory=dict)
    transports: dict[str, Transport] = field(default_factory=dict)
    pollers: dict[str, PollerInfo] = field(default_factory=dict)
    options: dict[tuple[int, int], OptionSpec] = field(default_factory=dict)

    # -- registration (called from nanomsg_core_register hooks) --
    def add_protocol(self, number: int, name: str, peer: int, factory: ProtocolFactory,
                     *, aliases: tuple[str, ...] = (), distribution: str = "",
                     options: Optional[Mapping[int, str]] = None) -> None:
        """Register socket type *number* (also known as *name* and *aliases*)
        that talks to peers of type *peer*; *options* names the options of
        its own level (``{REQ_RESEND_IVL: "REQ_RESEND_IVL"}``)."""
        if not (0 < number < 0x10000):
            raise NanomsgError(errno.EINVAL, "protocol number %r out of range" % number)
        if number in self.protocols:
            return
        info = ProtocolInfo(number, name.lower(), peer, factory, distribution,
                            tuple(a.lower() for a in aliases), dict(options or {}))
        self.protocols[number] = info
        for n in (info.name,) + info.aliases:
            self.names.setdefault(n, number)

    def add_transport(self, transport: Transport) -> None:
        """Register *transport* for its ``scheme``."""
        self.transports.setdefault(transport.scheme.lower(), transport)

    def add_poller(self, name: str, factory: Callable[[], Poller], *,
                   platforms: tuple[str, ...] = (), priority: int = 0,
                   distribution: str = "") -> None:
        """Register a poller backend."""
        self.pollers.setdefault(name, PollerInfo(name, factory, platforms, priority,
                                                 distribution))

    def add_option(self, spec: OptionSpec) -> None:
        """Declare a transport-level option (``spec.level`` < 0): its name,
        type, range and default.  Sockets created afterwards start with the
        default; ``setsockopt`` validates against the spec."""
        if spec.level >= 0:
            raise NanomsgError(errno.EINVAL, "plugin options need a negative (transport) "
                               "level, not %d" % spec.level)
        self.options.setdefault((spec.level, spec.option), spec)

    def option(self, level: int, option: int) -> OptionSpec:
        """The spec of a plugin option; ``ENOPROTOOPT`` if none is declared."""
        spec = self.options.get((level, option))
        if spec is None:
            raise NanomsgError(errno.ENOPROTOOPT, "unknown option %r at transport level %r%s"
                               % (option, level, _level_hint(level)))
        return spec

    # -- lookups --
    def protocol(self, which: Union[int, str]) -> ProtocolInfo:
        """Find a protocol by number or name; ``EPROTONOSUPPORT`` if absent."""
        if isinstance(which, str):
            key = which.lower()
            num = self.names.get(key)
            if num is None:
                known = KNOWN_NAMES.get(key)
                hint = (" (%r is provided by %s: pip install --find-links dist/ %s)"
                        % (which, known[1], known[1])
                        if known else "")
                raise NanomsgError(errno.EPROTONOSUPPORT,
                                   "unknown protocol %r%s" % (which, hint))
            return self.protocols[num]
        if isinstance(which, bool) or not isinstance(which, int):
            raise NanomsgError(errno.EINVAL, "protocol must be an int or a name")
        info = self.protocols.get(which)
        if info is None:
            known_p = KNOWN_PROTOCOLS.get(which)
            hint = (" (%s is provided by %s: pip install --find-links dist/ %s)"
                    % (known_p[0].upper(), known_p[1], known_p[1]) if known_p else "")
            raise NanomsgError(errno.EPROTONOSUPPORT,
                               "unknown protocol %d%s" % (which, hint))
        return info

    def transport(self, url: str) -> Transport:
        """Find the transport for *url*'s scheme; ``EINVAL`` / ``EPROTONOSUPPORT``."""
        scheme, sep, _ = url.partition("://")
        if not sep or not scheme:
            raise NanomsgError(errno.EINVAL, "malformed URL %r (expected scheme://address)" % url)
        tr = self.transports.get(scheme.lower())
        if tr is None:
            dist = KNOWN_SCHEMES.get(scheme.lower())
            hint = (" (%s:// is provided by %s: pip install --find-links dist/ %s)"
                    % (scheme, dist, dist.split()[0])
                    if dist else "")
            raise NanomsgError(errno.EPROTONOSUPPORT,
                               "unknown transport %s://%s" % (scheme, hint))
        return tr

    def default_poller(self) -> PollerInfo:
        usable = [p for p in self.pollers.values()
                  if not p.platforms or any(sys.platform.startswith(x) for x in p.platforms)]
        if not usable:
            raise NanomsgError(errno.EPROTONOSUPPORT, "no poller registered for %s" % sys.platform)
        return max(usable, key=lambda p: p.priority)


_lock = threading.RLock()
_pm: Optional[pluggy.PluginManager] = None
_registry: Optional[Registry] = None


def _disabled() -> set[str]:
    raw = os.environ.get("NANOMSG_DISABLE_PLUGINS", "")
    return {x.strip().lower() for x in raw.split(",") if x.strip()}


def _plugin_manager() -> pluggy.PluginManager:
    global _pm
    if _pm is None:
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        from . import _builtin
        pm.register(_builtin, name="nanomsg_core.builtin")
        blocked = _disabled()
        from importlib.metadata import entry_points
        for ep in entry_points(group=hookspecs.ENTRY_POINT_GROUP):
            dist = (ep.dist.name if ep.dist is not None else "").lower()
            if ep.name.lower() in blocked or dist in blocked:
                pm.set_blocked(ep.name)
        pm.load_setuptools_entrypoints(hookspecs.ENTRY_POINT_GROUP)
        _pm = pm
    return _pm


def get_registry() -> Registry:
    """The process-wide registry, loading plugins on first use."""
    global _registry
    reg = _registry
    if reg is not None:
        return reg
    with _lock:
        if _registry is None:
            reg = Registry()
            pm = _plugin_manager()
            pm.hook.nanomsg_core_register.call_historic(kwargs={"registry": reg})
            _hooks.refresh(pm)
            _registry = reg
        return _registry


def register_plugin(plugin: Any, name: Optional[str] = None) -> None:
    """Register a plugin object or module at run time (tests, embedding).

    Its ``nanomsg_core_register`` runs at once (the hook is historic); its
    observer hooks take effect for every socket from now on."""
    with _lock:
        get_registry()
        pm = _plugin_manager()
        if pm.is_registered(plugin):
            return
        pm.register(plugin, name=name)
        _hooks.refresh(pm)


def unregister_plugin(plugin: Any) -> None:
    """Remove a plugin registered with :func:`register_plugin` (its
    observer hooks stop; what it registered in the registry stays)."""
    with _lock:
        pm = _plugin_manager()
        if pm.is_registered(plugin):
            pm.unregister(plugin)
            _hooks.refresh(pm)


def reset_registry() -> None:
    """Forget loaded plugins so the next lookup reloads them (tests)."""
    global _pm, _registry
    with _lock:
        _pm = None
        _registry = None
        _hooks.clear()
