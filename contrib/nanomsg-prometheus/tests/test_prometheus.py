"""nanomsg-prometheus against real sockets over inproc, ipc and tcp: every
value is read back from a prometheus_client text scrape, parsed with
prometheus_client's own parser."""

from __future__ import annotations

import gc
import importlib.metadata
import re
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

import nanomsg_core as nn
import nanomsg_prometheus
from nanomsg_prometheus import STAT_METRICS, NanomsgCollector
from tests.support import Urls, free_port, wait_pipes, wait_until

HERE = Path(__file__).resolve().parent
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(registry: prometheus_client.CollectorRegistry) -> Samples:
    """Every sample of a text-format scrape: ``(name, sorted labels) -> value``."""
    text = prometheus_client.generate_latest(registry).decode()
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in out, "duplicate series %r" % (key,)
            out[key] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> Optional[float]:
    """The sample *name* with exactly *labels*, or ``None`` if absent."""
    return samples.get((name, tuple(sorted(labels.items()))))


def socket_labels(samples: Samples) -> set[str]:
    return {dict(labels)["socket"] for (_, labels) in samples if "socket" in dict(labels)}


def sample_name(metric_name: str, kind: str) -> str:
    return metric_name + "_total" if kind == "counter" else metric_name


def pipe_events(registry: prometheus_client.CollectorRegistry, event: str,
                transport: str) -> float:
    return value(scrape(registry), "nanomsg_pipe_events_total", event=event,
                 transport=transport) or 0.0


@pytest.fixture
def registry() -> prometheus_client.CollectorRegistry:
    return prometheus_client.CollectorRegistry()


@pytest.fixture
def exporter(registry: prometheus_client.CollectorRegistry
             ) -> Iterator[nanomsg_prometheus.Exporter]:
    ex = nanomsg_prometheus.install(registry)
    yield ex
    ex.uninstall()


@pytest.fixture
def socks() -> Iterator[Callable[..., nn.Socket]]:
    """``socks(proto, name=...)`` -> a socket with test timeouts, closed afterwards."""
    made: list[nn.Socket] = []

    def make(proto: int, **options: Any) -> nn.Socket:
        options.setdefault("recv_timeout", 5000)
        options.setdefault("send_timeout", 5000)
        options.setdefault("reconnect_interval", 20)
        s = nn.Socket(nn.AF_SP, proto, **options)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


def test_traffic_connections_and_pipe_events(new_url: Urls, registry: prometheus_client.
                                             CollectorRegistry,
                                             exporter: nanomsg_prometheus.Exporter,
                                             socks: Callable[..., nn.Socket]) -> None:
    t = new_url.transport
    url = new_url()
    srv = socks(nn.PAIR, name="srv")
    srv.bind(url)
    cli = socks(nn.PAIR, name="cli")
    eid = cli.connect(url)
    wait_pipes(srv, 1)
    wait_pipes(cli, 1)
    wait_until(lambda: pipe_events(registry, "add_post", t) == 2, what="two ADD_POST")

    for body in (b"a" * 5, b"b" * 10, b""):
        cli.send(body)
        assert srv.recv() == body
    srv.send(b"x" * 7)
    assert cli.recv() == b"x" * 7

    m = scrape(registry)
    for sock, name, sent, sent_b, rcvd, rcvd_b in ((cli, "cli", 3, 15, 1, 7),
                                                    (srv, "srv", 1, 7, 3, 15)):
        lab = {"socket": name, "protocol": "pair"}
        assert value(m, "nanomsg_messages_sent_total", **lab) == sent
        assert value(m, "nanomsg_bytes_sent_total", **lab) == sent_b
        assert value(m, "nanomsg_messages_received_total", **lab) == rcvd
        assert value(m, "nanomsg_bytes_received_total", **lab) == rcvd_b
        assert value(m, "nanomsg_connections_current", **lab) == 1
        assert value(m, "nanomsg_connections_inprogress", **lab) == 0
        assert value(m, "nanomsg_endpoint_errors_current", **lab) == 0
        # every family agrees with get_statistic (the sockets are idle now)
        for metric in STAT_METRICS:
            assert value(m, sample_name(metric.name, metric.kind), **lab) == \
                sock.get_statistic(metric.stat), metric.name
    assert value(m, "nanomsg_connections_accepted_total", socket="srv", protocol="pair") == 1
    assert value(m, "nanomsg_connections_established_total", socket="srv", protocol="pair") == 0
    assert value(m, "nanomsg_connections_established_total", socket="cli", protocol="pair") == 1
    assert value(m, "nanomsg_connections_accepted_total", socket="cli", protocol="pair") == 0
    assert value(m, "nanomsg_sockets", protocol="pair") == 2
    assert value(m, "nanomsg_pipe_events_total", event="add_pre", transport=t) == 2
    assert value(m, "nanomsg_pipe_events_total", event="add_post", transport=t) == 2
    assert value(m, "nanomsg_pipe_events_total", event="rem_post", transport=t) is None

    # removing the dialing endpoint drops the connection: one REM_POST per side
    cli.shutdown(eid)
    wait_until(lambda: pipe_events(registry, "rem_post", t) == 2, what="two REM_POST")
    wait_until(lambda: value(scrape(registry), "nanomsg_connections_current",
                             socket="srv", protocol="pair") == 0, what="srv disconnected")
    m = scrape(registry)
    assert value(m, "nanomsg_connections_current", socket="cli", protocol="pair") == 0
    assert value(m, "nanomsg_connections_dropped_total", socket="cli", protocol="pair") == 1
    assert value(m, "nanomsg_connections_broken_total", socket="srv", protocol="pair") == 1
    assert value(m, "nanomsg_pipe_events_total", event="add_pre", transport=t) == 2
    assert value(m, "nanomsg_pipe_events_total", event="add_post", transport=t) == 2

    # a closed socket leaves the scrape; the other stays
    cli.close()
    m = scrape(registry)
    assert socket_labels(m) == {"srv"}
    assert value(m, "nanomsg_sockets", protocol="pair") == 1
    assert value(m, "nanomsg_messages_received_total", socket="srv", protocol="pair") == 3


def test_closed_and_collected_sockets_disappear(registry: prometheus_client.CollectorRegistry,
                                                exporter: nanomsg_prometheus.Exporter,
                                                socks: Callable[..., nn.Socket]) -> None:
    url = "tcp://127.0.0.1:%d" % free_port()
    rep = socks(nn.REP, name="rep")
    rep.bind(url)
    req = socks(nn.REQ, name="req")
    req.connect(url)
    req.send(b"ping")
    rep.send(rep.recv())
    assert req.recv() == b"ping"
    m = scrape(registry)
    assert socket_labels(m) == {"rep", "req"}
    assert value(m, "nanomsg_messages_sent_total", socket="req", protocol="req") == 1
    assert value(m, "nanomsg_messages_sent_total", socket="rep", protocol="rep") == 1
    assert value(m, "nanomsg_bytes_received_total", socket="req", protocol="req") == 4

    req.close()
    # the peer sees the connection go (its own REM_POST), then closes too
    wait_until(lambda: pipe_events(registry, "rem_post", "tcp") >= 1, what="REM_POST")
    wait_until(lambda: value(scrape(registry), "nanomsg_connections_current",
                             socket="rep", protocol="rep") == 0, what="rep disconnected")
    assert socket_labels(scrape(registry)) == {"rep"}
    rep.close()
    m = scrape(registry)
    assert socket_labels(m) == set()
    assert not [k for k in m if k[0] == "nanomsg_sockets"]
    assert value(m, "nanomsg_pipe_events_total", event="add_post", transport="tcp") == 2

    # a socket dropped without close() goes with its last reference
    lost = nn.Socket(nn.AF_SP, nn.PAIR, name="lost")
    ref = weakref.ref(lost)
    assert "lost" in socket_labels(scrape(registry))
    del lost
    gc.collect()
    assert ref() is None
    assert socket_labels(scrape(registry)) == set()


def test_connect_failures_by_errno(registry: prometheus_client.CollectorRegistry,
                                   exporter: nanomsg_prometheus.Exporter,
                                   socks: Callable[..., nn.Socket]) -> None:
    ipc = Urls("ipc")
    try:
        tcp_s = socks(nn.PAIR, name="tcp-dialer", reconnect_interval=60000)
        tcp_s.connect("tcp://127.0.0.1:%d" % free_port())     # nobody listens
        ipc_s = socks(nn.PAIR, name="ipc-dialer", reconnect_interval=60000)
        ipc_s.connect(ipc())                                     # no such path

        def failures(transport: str, err: str) -> Optional[float]:
            return value(scrape(registry), "nanomsg_connect_failures_total",
                         transport=transport, errno=err)
        wait_until(lambda: failures("tcp", "ECONNREFUSED") == 1, 10.0, "tcp failure")
        wait_until(lambda: failures("ipc", "ENOENT") == 1, 10.0, "ipc failure")
        m = scrape(registry)
        assert len([k for k in m if k[0] == "nanomsg_connect_failures_total"]) == 2
        for name in ("tcp-dialer", "ipc-dialer"):
            lab = {"socket": name, "protocol": "pair"}
            assert value(m, "nanomsg_connect_errors_total", **lab) == 1
            assert value(m, "nanomsg_endpoint_errors_current", **lab) == 1
            assert value(m, "nanomsg_connections_inprogress", **lab) == 0
            assert value(m, "nanomsg_connections_current", **lab) == 0
            assert value(m, "nanomsg_connections_established_total", **lab) == 0
    finally:
        ipc.cleanup()


def test_uninstall_stops_updates(registry: prometheus_client.CollectorRegistry,
                                 socks: Callable[..., nn.Socket]) -> None:
    ex = nanomsg_prometheus.install(registry)
    assert ex.installed
    a = socks(nn.PAIR, name="a", bind="inproc://prom-uninstall-1")
    b = socks(nn.PAIR, name="b", connect="inproc://prom-uninstall-1")
    b.send(b"12345")
    assert a.recv() == b"12345"
    wait_until(lambda: pipe_events(registry, "add_post", "inproc") == 2, what="ADD_POST")
    assert socket_labels(scrape(registry)) == {"a", "b"}

    ex.uninstall()
    assert not ex.installed
    ex.uninstall()                       # idempotent
    assert b"nanomsg_" not in prometheus_client.generate_latest(registry)
    # the detached collector hears no more hooks and reads no sockets
    c = socks(nn.PAIR, name="c", bind="inproc://prom-uninstall-2")
    d = socks(nn.PAIR, name="d", connect="inproc://prom-uninstall-2")
    d.send(b"x")
    assert c.recv() == b"x"
    b.send(b"y")
    assert a.recv() == b"y"
    assert all(not fam.samples for fam in ex.collector.collect())
    assert ex.collector.sockets() == []

    # installing again sees the sockets opened from then on, counters from zero
    with nanomsg_prometheus.install(registry) as again:
        e = socks(nn.PAIR, name="e", bind="inproc://prom-uninstall-3")
        f = socks(nn.PAIR, name="f", connect="inproc://prom-uninstall-3")
        f.send(b"abc")
        assert e.recv() == b"abc"
        wait_until(lambda: pipe_events(registry, "add_post", "inproc") == 2, what="ADD_POST")
        m = scrape(registry)
        assert socket_labels(m) == {"e", "f"}
        assert value(m, "nanomsg_bytes_received_total", socket="e", protocol="pair") == 3
        assert value(m, "nanomsg_pipe_events_total", event="add_pre", transport="inproc") == 2
    assert not again.installed
    assert b"nanomsg_" not in prometheus_client.generate_latest(registry)


def test_socket_labels_names_ids_and_track(registry: prometheus_client.CollectorRegistry,
                                           socks: Callable[..., nn.Socket]) -> None:
    before = socks(nn.PUB, name="older")             # opened before install
    ex = nanomsg_prometheus.install(registry)
    try:
        assert socket_labels(scrape(registry)) == set()
        ex.collector.track(before)
        ex.collector.track(before)                   # twice is once
        unnamed = socks(nn.SUB)
        twin1 = socks(nn.PUSH, name="twin")
        twin2 = socks(nn.PULL, name="twin")
        m = scrape(registry)
        # ids in tracking order: older=1, unnamed=2, twin1=3, twin2=4
        assert socket_labels(m) == {"older", "2", "twin", "twin#4"}
        assert value(m, "nanomsg_messages_sent_total", socket="older", protocol="pub") == 0
        assert value(m, "nanomsg_messages_sent_total", socket="2", protocol="sub") == 0
        assert value(m, "nanomsg_messages_sent_total", socket="twin", protocol="push") == 0
        assert value(m, "nanomsg_messages_sent_total", socket="twin#4", protocol="pull") == 0
        for proto in ("pub", "sub", "push", "pull"):
            assert value(m, "nanomsg_sockets", protocol=proto) == 1
        # SOCKET_NAME is read at scrape time
        unnamed.name = "renamed"
        twin1.close()
        assert socket_labels(scrape(registry)) == {"older", "renamed", "twin"}
        assert value(scrape(registry), "nanomsg_sockets", protocol="pull") == 1
        assert ex.collector.sockets() == [before, unnamed, twin2]
        ex.collector.untrack(before)
        assert socket_labels(scrape(registry)) == {"renamed", "twin"}
    finally:
        ex.uninstall()


def test_install_twice_into_one_registry_and_default_registry(
        registry: prometheus_client.CollectorRegistry) -> None:
    with nanomsg_prometheus.install(registry):
        with pytest.raises(ValueError):
            nanomsg_prometheus.install(registry)
    # the default registry, and the collector on its own (no hooks)
    with nanomsg_prometheus.install() as ex:
        assert ex.registry is prometheus_client.REGISTRY
        with nn.Socket(nn.AF_SP, nn.BUS, name="default-registry-bus"):
            assert b'socket="default-registry-bus"' in \
                prometheus_client.generate_latest(prometheus_client.REGISTRY)
    assert b"default-registry-bus" not in \
        prometheus_client.generate_latest(prometheus_client.REGISTRY)
    alone = prometheus_client.CollectorRegistry()
    collector = NanomsgCollector(alone)
    with nn.Socket(nn.AF_SP, nn.PAIR) as s:
        assert socket_labels(scrape(alone)) == set()
        collector.track(s)
        assert socket_labels(scrape(alone)) == {"1"}


def test_hooks_from_many_threads_during_scrapes(registry: prometheus_client.CollectorRegistry,
                                                exporter: nanomsg_prometheus.Exporter) -> None:
    threads, rounds = 6, 20
    errors: list[BaseException] = []
    stop = threading.Event()

    def churn(n: int) -> None:
        try:
            for i in range(rounds):
                url = "inproc://prom-churn-%d-%d" % (n, i)
                with nn.Socket(nn.AF_SP, nn.PAIR, bind=url, recv_timeout=5000) as a, \
                        nn.Socket(nn.AF_SP, nn.PAIR, connect=url, send_timeout=5000) as b:
                    b.send(b"%d" % i)
                    assert a.recv() == b"%d" % i
        except BaseException as e:           # reported by the main thread
            errors.append(e)

    def scraper() -> None:
        try:
            while not stop.is_set():
                scrape(registry)
        except BaseException as e:
            errors.append(e)

    scr = threading.Thread(target=scraper)
    scr.start()
    workers = [threading.Thread(target=churn, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    stop.set()
    scr.join(30)
    assert not errors, errors
    expected = 2 * threads * rounds
    wait_until(lambda: pipe_events(registry, "add_post", "inproc") == expected, what="ADD_POST")
    m = scrape(registry)
    assert value(m, "nanomsg_pipe_events_total", event="add_pre", transport="inproc") == expected
    assert socket_labels(m) == set()
    assert exporter.collector.sockets() == []


def test_errno_names_and_opt_in() -> None:
    import errno
    assert nanomsg_prometheus.errno_name(errno.ECONNREFUSED) == "ECONNREFUSED"
    assert nanomsg_prometheus.errno_name(errno.EAGAIN) == "EAGAIN"
    assert nanomsg_prometheus.errno_name(errno.ETIMEDOUT) == "ETIMEDOUT"
    assert nanomsg_prometheus.errno_name(nn.ETERM) == "ETERM"
    assert nanomsg_prometheus.errno_name(nn.EFSM) == "EFSM"
    assert nanomsg_prometheus.errno_name(987654) == "987654"
    # one family per statistic, with nanomsg's numbers
    assert sorted(m.stat for m in STAT_METRICS) == [101, 102, 103, 104, 105, 106, 107,
                                                   201, 202, 203, 301, 302, 303, 304]
    # opt-in: no entry point, and the message hooks are left alone (zero cost)
    dist = importlib.metadata.distribution("nanomsg-prometheus")
    assert not [ep for ep in dist.entry_points if ep.group == "nanomsg_core.plugins"]
    assert not hasattr(NanomsgCollector, "nanomsg_core_message_sent")
    assert not hasattr(NanomsgCollector, "nanomsg_core_message_received")


@pytest.mark.parametrize("doc", [HERE.parent / "README.md",
                                 HERE.parents[2] / "docs" / "prometheus.md"],
                         ids=["README", "docs"])
def test_documented_examples_run(doc: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert blocks
    for code in blocks:
        exec(compile(code, str(doc), "exec"), {"__name__": "__doc_example__"})
