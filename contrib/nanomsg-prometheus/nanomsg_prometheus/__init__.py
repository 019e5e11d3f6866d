"""nanomsg-prometheus: export nanomsg_core's socket statistics and pipe
events through prometheus-client.

Opt-in (the distribution registers no entry point)::

    import prometheus_client
    import nanomsg_prometheus

    exporter = nanomsg_prometheus.install()       # prometheus_client.REGISTRY
    prometheus_client.start_http_server(8000)
    ...
    exporter.uninstall()

Built only on nanomsg_core's public hooks (``nanomsg_core_socket_opened``/
``_closed``, ``nanomsg_core_pipe_event``,
``nanomsg_core_endpoint_connect_failed``) and ``Socket.get_statistic``.
"""

from __future__ import annotations

from ._exporter import (PIPE_EVENT_NAMES, STAT_METRICS, Exporter, NanomsgCollector, StatMetric,
                        errno_name, install)

__version__ = "0.1.0"

__all__ = ["Exporter", "NanomsgCollector", "PIPE_EVENT_NAMES", "STAT_METRICS", "StatMetric",
           "__version__", "errno_name", "install"]
