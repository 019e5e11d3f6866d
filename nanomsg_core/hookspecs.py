"""Every hook nanomsg_core calls, in one place (pluggy, project ``nanomsg_core``).

A plugin is any object or module with functions marked ``@hookimpl`` and
named like a spec below.  Distributions announce their plugin under the
entry-point group ``nanomsg_core.plugins``::

    [project.entry-points."nanomsg_core.plugins"]
    pair = "nanomsg_pair._plugin"

The built-in protocols, transports and the default poller load through the
very same path.  Set ``NANOMSG_DISABLE_PLUGINS=pair,tcp`` (entry-point or
distribution names) to keep plugins from loading.  At run time,
``nn.register_plugin(obj)`` adds a plugin and ``nn.unregister_plugin(obj)``
removes it.

Every hook but :func:`nanomsg_core_register` is an *observer*: it runs on
whichever thread caused the event (often the engine thread), must return
quickly and must not block; an exception it raises is logged (logger
``nanomsg_core.hooks``) and otherwise ignored.  A hook nobody implements is
never called: the socket checks one attribute and moves on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .endpoints._endpoint import Endpoint
    from .endpoints._message import Message
    from .endpoints._pipe import Pipe
    from .registry._registry import Registry
    from .sockets._socket import Socket

PROJECT = "nanomsg_core"
ENTRY_POINT_GROUP = "nanomsg_core.plugins"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(historic=True)
def nanomsg_core_register(registry: "Registry") -> None:
    """Add protocols, transports, pollers and options to *registry*.

    Called once per plugin when the registry is first needed (the first
    ``Socket``); a plugin registered later gets the call at once (the hook
    is historic).  Use ``registry.add_protocol(...)``,
    ``registry.add_transport(...)``, ``registry.add_poller(...)`` and
    ``registry.add_option(...)``; never keep the registry for later.  A name,
    number, scheme or option registered twice keeps the first registration.
    """


@hookspec
def nanomsg_core_socket_opened(socket: "Socket") -> None:
    """A socket was created (called from the creating thread, before
    ``Socket(...)`` returns, after ``bind=``/``connect=`` keywords ran)."""


@hookspec
def nanomsg_core_socket_closed(socket: "Socket") -> None:
    """A socket was closed (called once, from the closing thread, after its
    endpoints and connections are gone)."""


@hookspec
def nanomsg_core_pipe_event(socket: "Socket", pipe: "Pipe", event: int) -> None:
    """A connection of *socket* changed: ``event`` is ``PIPE_EV_ADD_PRE``
    (connected, not yet seen by the protocol: ``pipe.close()`` here refuses
    it and no ``REM_POST`` follows), ``PIPE_EV_ADD_POST`` (the protocol has
    it) or ``PIPE_EV_REM_POST`` (it is gone).  Runs after the socket's own
    ``pipe_notify`` callbacks for the same event."""


@hookspec
def nanomsg_core_message_sent(socket: "Socket", message: "Message") -> None:
    """*message* was handed to *socket*'s protocol by ``send``/``send_msg``
    (or their async forms).  Do not modify it."""


@hookspec
def nanomsg_core_message_received(socket: "Socket", message: "Message") -> None:
    """*message* is being returned to the application by ``recv``/``recv_msg``
    (or their async forms).  Do not modify it."""


@hookspec
def nanomsg_core_endpoint_bound(socket: "Socket", endpoint: "Endpoint") -> None:
    """``socket.bind`` succeeded: *endpoint* listens (``endpoint.id``,
    ``endpoint.url``, ``endpoint.bound_address``)."""


@hookspec
def nanomsg_core_endpoint_connected(socket: "Socket", endpoint: "Endpoint", pipe: "Pipe") -> None:
    """A dialing endpoint established a connection (*pipe*) that the socket
    accepted."""


@hookspec
def nanomsg_core_endpoint_connect_failed(socket: "Socket", endpoint: "Endpoint",
                                         errno: int) -> None:
    """A connection attempt of a dialing endpoint failed with *errno*
    (``ECONNREFUSED``, ``ETIMEDOUT``, ``EPROTO`` for a wrong peer, ...);
    the endpoint retries after its reconnect interval."""
