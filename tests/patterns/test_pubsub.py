"""PUB/SUB over real sockets (nanomsg's tests/pubsub.c and more), per transport."""

from __future__ import annotations

import errno

import pytest

import nanomsg_core as nn

from tests.support import Urls, timeouts, wait_pipes, wait_until

pytestmark = pytest.mark.timeout(20)
DATA = b"0123456789012345678901234567890123456789"


def sub_socket(*topics: object, domain: int = nn.AF_SP) -> nn.Socket:
    s = timeouts(nn.Socket(domain, nn.SUB))
    for t in topics:
        s.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, t)
    return s


def test_one_publisher_two_subscribers(urls: Urls) -> None:
    url = urls()
    with timeouts(nn.Socket(nn.AF_SP, nn.PUB)) as pub, sub_socket(b"") as s1, \
            sub_socket("") as s2:
        pub.bind(url)
        with pytest.raises(nn.NanomsgError) as ei:
            s1.getsockopt(nn.SUB, nn.SUB_SUBSCRIBE)
        assert ei.value.errno == nn.ENOPROTOOPT
        s1.connect(url)
        s2.connect(url)
        wait_pipes(pub, 2)
        assert pub.send(DATA) == len(DATA)
        assert s1.recv() == DATA
        assert s2.recv() == DATA


def test_two_publishers_one_subscriber(urls: Urls) -> None:
    url = urls()
    with sub_socket(b"") as sub, nn.Socket(nn.AF_SP, nn.PUB) as p1, \
            nn.Socket(nn.AF_SP, nn.PUB) as p2:
        sub.bind(url)
        p1.connect(url)
        p2.connect(url)
        wait_pipes(p1, 1)
        wait_pipes(p2, 1)
        p1.send(DATA)
        p2.send(DATA[::-1])
        assert sorted([sub.recv(), sub.recv()]) == sorted([DATA, DATA[::-1]])


@pytest.mark.parametrize("domain", [nn.AF_SP, nn.AF_SP_RAW])
def test_topics_filter_at_the_subscriber(urls: Urls, domain: int) -> None:
    url = urls()
    with nn.Socket(domain, nn.PUB) as pub, sub_socket(b"weather.", "sport", domain=domain) as sub:
        sub.bind(url)
        pub.connect(url)
        wait_pipes(pub, 1)
        for body in (b"weather.rain", b"news", b"sport:1-0", b"weathe", b"weather."):
            pub.send(body)
        got = [sub.recv() for _ in range(3)]
        assert got == [b"weather.rain", b"sport:1-0", b"weather."]
        with pytest.raises(nn.NanomsgError) as ei:
            sub.recv(nn.DONTWAIT)
        assert ei.value.errno == nn.EAGAIN
        sub.setsockopt(nn.SUB, nn.SUB_UNSUBSCRIBE, "sport")
        pub.send(b"sport:2-0")
        pub.send(b"weather.sun")
        assert sub.recv() == b"weather.sun"


def test_no_subscription_receives_nothing(urls: Urls) -> None:
    url = urls()
    with nn.Socket(nn.AF_SP, nn.PUB) as pub, sub_socket() as sub:
        pub.bind(url)
        sub.connect(url)
        wait_pipes(pub, 1)
        pub.send(b"")
        pub.send(b"anything")           # in order on one pipe: its arrival implies b""'s
        wait_until(lambda: sum(p.queued() for p in sub.pipes) == len(b"anything"),
                   what="both messages queued at the subscriber")
        with pytest.raises(nn.NanomsgError) as ei:
            sub.recv(nn.DONTWAIT)
        assert ei.value.errno == nn.EAGAIN
        sub.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"")
        pub.send(b"now")
        assert sub.recv() == b"now"       # the unmatched ones were dropped, not kept


@pytest.mark.parametrize("domain", [nn.AF_SP, nn.AF_SP_RAW])
def test_wrong_direction_is_enotsup(domain: int) -> None:
    with nn.Socket(domain, nn.PUB) as pub, nn.Socket(domain, nn.SUB) as sub:
        for call in (pub.recv, lambda: sub.send(b"x"), lambda: pub.recv(nn.DONTWAIT),
                     lambda: sub.send(b"x", nn.DONTWAIT)):
            with pytest.raises(nn.NanomsgError) as ei:
                call()
            assert ei.value.errno == errno.ENOTSUP


def test_unsubscribe_rules() -> None:
    with nn.Socket(nn.AF_SP, nn.SUB) as sub:
        with pytest.raises(nn.NanomsgError) as ei:
            sub.setsockopt(nn.SUB, nn.SUB_UNSUBSCRIBE, b"never")
        assert ei.value.errno == nn.EINVAL
        sub.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"a")
        sub.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"a")
        sub.setsockopt(nn.SUB, nn.SUB_UNSUBSCRIBE, b"a")
        sub.setsockopt(nn.SUB, nn.SUB_UNSUBSCRIBE, b"a")
        with pytest.raises(nn.NanomsgError) as ei:
            sub.setsockopt(nn.SUB, nn.SUB_UNSUBSCRIBE, b"a")
        assert ei.value.errno == nn.EINVAL
        with pytest.raises(nn.NanomsgError) as ei:
            sub.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, 42)
        assert ei.value.errno == nn.EINVAL


def test_slow_subscriber_loses_messages_others_do_not(inproc_url: str) -> None:
    """PUB never blocks: a full subscriber misses messages, a fast one gets all."""
    with nn.Socket(nn.AF_SP, nn.PUB) as pub, sub_socket(b"") as slow, \
            sub_socket(b"") as fast:
        slow.setsockopt(nn.SOL_SOCKET, nn.RCVBUF, 1000)
        pub.bind(inproc_url)
        slow.connect(inproc_url)
        fast.connect(inproc_url)
        wait_pipes(pub, 2)
        n = 50
        for i in range(n):
            assert pub.send(b"%04d" % i + b"x" * 996, nn.DONTWAIT) == 1000
        got_fast = [fast.recv()[:4] for _ in range(n)]
        assert got_fast == [b"%04d" % i for i in range(n)]
        got_slow = []
        while True:
            try:
                got_slow.append(slow.recv(nn.DONTWAIT)[:4])
            except nn.NanomsgError as e:
                assert e.errno == nn.EAGAIN
                break
        assert 0 < len(got_slow) < n
        assert got_slow == [b"%04d" % i for i in range(len(got_slow))]


def test_raw_pubsub_device_by_hand(urls: Urls) -> None:
    """A raw SUB subscribed to everything feeds a raw PUB: what a device does."""
    up, down = urls(), urls()
    with nn.Socket(nn.AF_SP, nn.PUB) as src, sub_socket(b"", domain=nn.AF_SP_RAW) as xsub, \
            timeouts(nn.Socket(nn.AF_SP_RAW, nn.PUB)) as xpub, sub_socket(b"t") as dst:
        src.bind(up)
        xsub.connect(up)
        xpub.bind(down)
        dst.connect(down)
        wait_pipes(src, 1)
        wait_pipes(xpub, 1)
        for body in (b"t1", b"u1", b"t2"):
            src.send(body)
        for _ in range(3):
            m = xsub.recv_msg()
            assert m.header == b""
            xpub.send_msg(m)
        assert [dst.recv(), dst.recv()] == [b"t1", b"t2"]
