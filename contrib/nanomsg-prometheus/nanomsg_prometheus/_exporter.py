"""The collector (a prometheus_client custom collector that is also a
nanomsg_core plugin) and ``install``/``uninstall``.

Theory of operation: the observer hooks keep only cheap bookkeeping -- a
weak set of the live sockets (``socket_opened``/``socket_closed``) and two
small counter tables (pipe events by event and transport, connect failures
by transport and errno).  Everything else is read at scrape time from each
live socket's ``get_statistic``, so a socket costs nothing between scrapes.
The message hooks are deliberately not implemented: the core then skips
them entirely, and ``STAT_MESSAGES_*``/``STAT_BYTES_*`` already count the
traffic.  Hooks run on engine threads and scrapes on the HTTP server's
thread: one lock guards the tables and is never held while calling into a
socket.
"""

from __future__ import annotations

import errno as _errno
import threading
import weakref
from collections.abc import Iterable
from typing import NamedTuple, Optional, Union

import prometheus_client
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry

import nanomsg_core as nn

__all__ = ["Exporter", "NanomsgCollector", "STAT_METRICS", "StatMetric", "errno_name",
           "install"]


class StatMetric(NamedTuple):
    """How one ``STAT_*`` counter is exported."""

    stat: int
    """The ``nn.STAT_*`` number."""
    name: str
    """Metric family name (counters get ``_total`` on their sample)."""
    kind: str
    """``"counter"`` or ``"gauge"``."""
    doc: str


STAT_METRICS: tuple[StatMetric, ...] = (
    StatMetric(nn.STAT_ESTABLISHED_CONNECTIONS, "nanomsg_connections_established", "counter",
               "Connections established by dialing endpoints (STAT_ESTABLISHED_CONNECTIONS)."),
    StatMetric(nn.STAT_ACCEPTED_CONNECTIONS, "nanomsg_connections_accepted", "counter",
               "Connections accepted by listening endpoints (STAT_ACCEPTED_CONNECTIONS)."),
    StatMetric(nn.STAT_DROPPED_CONNECTIONS, "nanomsg_connections_dropped", "counter",
               "Connections closed by this side (STAT_DROPPED_CONNECTIONS)."),
    StatMetric(nn.STAT_BROKEN_CONNECTIONS, "nanomsg_connections_broken", "counter",
               "Connections ended by the peer or an error (STAT_BROKEN_CONNECTIONS)."),
    StatMetric(nn.STAT_CONNECT_ERRORS, "nanomsg_connect_errors", "counter",
               "Failed connection attempts (STAT_CONNECT_ERRORS)."),
    StatMetric(nn.STAT_BIND_ERRORS, "nanomsg_bind_errors", "counter",
               "Failed binds (STAT_BIND_ERRORS)."),
    StatMetric(nn.STAT_ACCEPT_ERRORS, "nanomsg_accept_errors", "counter",
               "Failed accepts (STAT_ACCEPT_ERRORS)."),
    StatMetric(nn.STAT_CURRENT_CONNECTIONS, "nanomsg_connections_current", "gauge",
               "Connections open now (STAT_CURRENT_CONNECTIONS)."),
    StatMetric(nn.STAT_INPROGRESS_CONNECTIONS, "nanomsg_connections_inprogress", "gauge",
               "Connection attempts under way (STAT_INPROGRESS_CONNECTIONS)."),
    StatMetric(nn.STAT_CURRENT_EP_ERRORS, "nanomsg_endpoint_errors_current", "gauge",
               "Dialing endpoints whose last attempt failed (STAT_CURRENT_EP_ERRORS)."),
    StatMetric(nn.STAT_MESSAGES_SENT, "nanomsg_messages_sent", "counter",
               "Messages sent (STAT_MESSAGES_SENT)."),
    StatMetric(nn.STAT_MESSAGES_RECEIVED, "nanomsg_messages_received", "counter",
               "Messages received (STAT_MESSAGES_RECEIVED)."),
    StatMetric(nn.STAT_BYTES_SENT, "nanomsg_bytes_sent", "counter",
               "Message body bytes sent (STAT_BYTES_SENT)."),
    StatMetric(nn.STAT_BYTES_RECEIVED, "nanomsg_bytes_received", "counter",
               "Message body bytes received (STAT_BYTES_RECEIVED)."),
)
"""One metric family per ``STAT_*``, labelled ``socket`` and ``protocol``."""

SOCKET_LABELS = ("socket", "protocol")
PIPE_EVENT_NAMES = {nn.PIPE_EV_ADD_PRE: "add_pre", nn.PIPE_EV_ADD_POST: "add_post",
                    nn.PIPE_EV_REM_POST: "rem_post"}


def _errno_names() -> dict[int, str]:
    names = {nn.ETERM: "ETERM", nn.EFSM: "EFSM"}
    # Sorted, first name wins: EAGAIN before EWOULDBLOCK, ENOTSUP before
    # EOPNOTSUPP, and never Windows' WSA* aliases.
    for name in sorted(dir(_errno)):
        value = getattr(_errno, name)
        if name.startswith("E") and name.isupper() and isinstance(value, int):
            names.setdefault(value, name)
    return names


_ERRNO_NAMES = _errno_names()


def errno_name(num: int) -> str:
    """``"ECONNREFUSED"`` for ``errno.ECONNREFUSED``; nanomsg's own numbers
    (``ETERM``, ``EFSM``) by name; an unknown number as its digits."""
    return _ERRNO_NAMES.get(num, str(num))


def _scheme(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    return scheme if sep else "unknown"


class NanomsgCollector:
    """A prometheus_client collector of nanomsg_core sockets, and the
    nanomsg_core plugin that feeds it.

    With *registry*, registers itself there as a collector (it does not
    register itself as a plugin: :func:`install` does both).  It knows the
    sockets opened while it is a registered plugin, and those passed to
    :meth:`track`; each is held by a weak reference and forgotten when it
    closes or is garbage-collected.

    Families (socket families labelled ``socket`` -- ``SOCKET_NAME``, or a
    number this collector assigns when the name is empty or taken -- and
    ``protocol``):

    - one per ``STAT_*``, see :data:`STAT_METRICS`
      (``nanomsg_messages_sent_total``, ``nanomsg_connections_current``, ...);
    - ``nanomsg_sockets{protocol}``: live sockets known to the collector;
    - ``nanomsg_pipe_events_total{event,transport}``: ``add_pre``,
      ``add_post``, ``rem_post`` of every socket in the process;
    - ``nanomsg_connect_failures_total{transport,errno}``: failed connection
      attempts of every socket, by errno name (``ECONNREFUSED``, ...).
    """

    def __init__(self, registry: Optional[CollectorRegistry] = None) -> None:
        self._lock = threading.Lock()
        self._sockets: "weakref.WeakKeyDictionary[nn.Socket, int]" = weakref.WeakKeyDictionary()
        self._next_id = 1
        self._pipe_events: dict[tuple[str, str], int] = {}
        self._connect_failures: dict[tuple[str, str], int] = {}
        if registry is not None:
            registry.register(self)

    # -- which sockets --
    def track(self, sock: nn.Socket) -> None:
        """Export *sock* (one opened before the collector was installed)."""
        if sock.closed:
            return
        with self._lock:
            if sock not in self._sockets:
                self._sockets[sock] = self._next_id
                self._next_id += 1

    def untrack(self, sock: nn.Socket) -> None:
        """Stop exporting *sock*."""
        with self._lock:
            self._sockets.pop(sock, None)

    def sockets(self) -> list[nn.Socket]:
        """The sockets exported now, in the order they were tracked."""
        with self._lock:
            pairs = list(self._sockets.items())
        return [s for s, _ in sorted(pairs, key=lambda p: p[1])]

    def clear(self) -> None:
        """Forget every socket and reset the hook counters."""
        with self._lock:
            self._sockets.clear()
            self._pipe_events.clear()
            self._connect_failures.clear()

    # -- nanomsg_core observer hooks (any thread; quick, never block) --
    @nn.hookimpl
    def nanomsg_core_socket_opened(self, socket: nn.Socket) -> None:
        self.track(socket)

    @nn.hookimpl
    def nanomsg_core_socket_closed(self, socket: nn.Socket) -> None:
        self.untrack(socket)

    @nn.hookimpl
    def nanomsg_core_pipe_event(self, socket: nn.Socket, pipe: nn.Pipe, event: int) -> None:
        key = (PIPE_EVENT_NAMES.get(event, str(event)), str(pipe.transport))
        with self._lock:
            self._pipe_events[key] = self._pipe_events.get(key, 0) + 1

    @nn.hookimpl
    def nanomsg_core_endpoint_connect_failed(self, socket: nn.Socket, endpoint: nn.Endpoint,
                                             errno: int) -> None:
        key = (_scheme(endpoint.url), errno_name(errno))
        with self._lock:
            self._connect_failures[key] = self._connect_failures.get(key, 0) + 1

    # -- prometheus_client collector protocol --
    def describe(self) -> Iterable[Metric]:
        """Empty families: lets a registry refuse a second collector with
        the same names."""
        return list(self._families().values())

    def collect(self) -> Iterable[Metric]:
        """Read every live socket's statistics now."""
        with self._lock:
            tracked = sorted(((i, s) for s, i in self._sockets.items()), key=lambda p: p[0])
            pipe_events = sorted(self._pipe_events.items())
            failures = sorted(self._connect_failures.items())
        fams = self._families()
        per_protocol: dict[str, int] = {}
        taken: set[str] = set()
        for ident, sock in tracked:
            try:
                values = [sock.get_statistic(m.stat) for m in STAT_METRICS]
                name = str(sock.name)
            except nn.NanomsgError:         # closed since the snapshot
                continue
            label = name or str(ident)
            if label in taken:
                label = "%s#%d" % (label, ident)
            taken.add(label)
            proto = sock.protocol_name
            per_protocol[proto] = per_protocol.get(proto, 0) + 1
            for metric, value in zip(STAT_METRICS, values):
                fams[metric.name].add_metric([label, proto], value)
        for proto, n in sorted(per_protocol.items()):
            fams["nanomsg_sockets"].add_metric([proto], n)
        for (event, transport), n in pipe_events:
            fams["nanomsg_pipe_events"].add_metric([event, transport], n)
        for (transport, err), n in failures:
            fams["nanomsg_connect_failures"].add_metric([transport, err], n)
        return list(fams.values())

    @staticmethod
    def _families() -> dict[str, Union[CounterMetricFamily, GaugeMetricFamily]]:
        fams: dict[str, Union[CounterMetricFamily, GaugeMetricFamily]] = {}
        for m in STAT_METRICS:
            cls = CounterMetricFamily if m.kind == "counter" else GaugeMetricFamily
            fams[m.name] = cls(m.name, m.doc, labels=SOCKET_LABELS)
        fams["nanomsg_sockets"] = GaugeMetricFamily(
            "nanomsg_sockets", "Live nanomsg sockets known to the exporter.", labels=["protocol"])
        fams["nanomsg_pipe_events"] = CounterMetricFamily(
            "nanomsg_pipe_events", "Pipe events (PIPE_EV_*) of every socket since install.",
            labels=["event", "transport"])
        fams["nanomsg_connect_failures"] = CounterMetricFamily(
            "nanomsg_connect_failures", "Failed connection attempts since install, by errno.",
            labels=["transport", "errno"])
        return fams


class Exporter:
    """What :func:`install` returns: ``uninstall()`` undoes it (also as a
    context manager: ``with install(reg): ...``)."""

    def __init__(self, collector: NanomsgCollector, registry: CollectorRegistry) -> None:
        self.collector = collector
        self.registry = registry
        self._lock = threading.Lock()
        self._installed = True

    @property
    def installed(self) -> bool:
        return self._installed

    def uninstall(self) -> None:
        """Remove the plugin and the collector; calling it again does nothing."""
        with self._lock:
            if not self._installed:
                return
            self._installed = False
        nn.unregister_plugin(self.collector)
        self.registry.unregister(self.collector)
        self.collector.clear()

    def __enter__(self) -> "Exporter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def __repr__(self) -> str:
        return "<nanomsg_prometheus.Exporter %s>" % (
            "installed" if self._installed else "uninstalled")


def install(registry: CollectorRegistry = prometheus_client.REGISTRY) -> Exporter:
    """Export nanomsg_core's statistics into *registry* from now on.

    Registers a :class:`NanomsgCollector` with *registry* and as a
    nanomsg_core plugin; sockets opened from now on are exported (pass older
    ones to ``exporter.collector.track(sock)``).  A registry that already
    has a nanomsg collector raises ``ValueError`` (prometheus_client's
    ``DuplicateTimeseries``)."""
    collector = NanomsgCollector(registry)
    try:
        nn.register_plugin(collector)
    except BaseException:
        registry.unregister(collector)
        raise
    return Exporter(collector, registry)
