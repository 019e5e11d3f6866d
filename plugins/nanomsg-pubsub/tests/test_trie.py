"""The subscription trie on its own (nanomsg's tests/trie.c, plus counting)."""

from __future__ import annotations

import random

import pytest

from nanomsg_pubsub import Trie

pytestmark = pytest.mark.timeout(10)


def test_empty_trie_matches_nothing() -> None:
    t = Trie()
    assert not t.match(b"")
    assert not t.match(b"ABC")
    assert len(t) == 0


def test_empty_topic_matches_everything() -> None:
    t = Trie()
    assert t.subscribe(b"")
    assert t.match(b"")
    assert t.match(b"ABC")


def test_simple_prefix() -> None:
    t = Trie()
    assert t.subscribe(b"ABC")
    assert not t.match(b"DEF")
    assert not t.match(b"AB")
    assert t.match(b"ABC")
    assert t.match(b"ABCDE")


def test_long_topic() -> None:
    t = Trie()
    topic = b"01234567890123456789012345678901234"
    assert t.subscribe(topic)
    assert not t.match(b"")
    assert not t.match(b"012456789\0")
    assert not t.match(b"012345678901234567")
    assert t.match(topic)


def test_sparse_node() -> None:
    t = Trie()
    assert t.subscribe(b"ABC") and t.subscribe(b"ADE")
    assert not t.match(b"A")
    assert not t.match(b"AD")
    assert t.match(b"ADEX") and t.match(b"ABC")


DENSE = [b"A", b"B", b"C", b"0", b"E", b"F", b"1", b"@", b"b", b"f"]


def test_dense_node() -> None:
    t = Trie()
    for k in DENSE:
        assert t.subscribe(k)
    for k in (b"0", b"A", b"f", b"000"):
        assert t.match(k)
    assert not t.match(b"a") and not t.match(b"c")


def test_split_and_compaction() -> None:
    t = Trie()
    assert t.subscribe(b"ABCD")
    assert t.subscribe(b"AB")
    assert t.unsubscribe(b"AB")
    assert not t.match(b"AB")
    assert t.match(b"ABCDEF")
    assert t.subscribe(b"ABEF")
    assert t.unsubscribe(b"ABCD")
    assert not t.match(b"ABCD")
    assert t.match(b"ABEF")
    assert list(t.topics()) == [(b"ABEF", 1)]


def test_remove_everything() -> None:
    t = Trie()
    t.subscribe(b"A")
    assert t.unsubscribe(b"A")
    assert not t.match(b"") and not t.match(b"A")
    assert len(t) == 0 and list(t.topics()) == []


def test_dense_then_sparse_again() -> None:
    t = Trie()
    for k in DENSE:
        t.subscribe(k)
    for k in [b"0", b"f", b"E", b"B", b"A", b"1", b"@", b"F", b"C", b"b"]:
        assert t.unsubscribe(k)
    assert len(t) == 0 and not t.match(b"A")


def test_subscriptions_are_counted() -> None:
    t = Trie()
    assert t.subscribe(b"x") is True
    assert t.subscribe(b"x") is False
    assert len(t) == 1
    assert t.unsubscribe(b"x") is False
    assert t.match(b"xy")
    assert t.unsubscribe(b"x") is True
    assert not t.match(b"xy")
    with pytest.raises(KeyError):
        t.unsubscribe(b"x")


@pytest.mark.parametrize("topic", [b"", b"A", b"ABC", b"ABCDE", b"Z"])
def test_unsubscribe_unknown_raises(topic: bytes) -> None:
    t = Trie()
    t.subscribe(b"ABCD")
    with pytest.raises(KeyError):
        t.unsubscribe(topic)
    assert t.match(b"ABCD")


def test_inner_split_node_is_not_a_subscription() -> None:
    t = Trie()
    t.subscribe(b"ABC")
    t.subscribe(b"ABD")       # splits at "AB", which is no topic of its own
    assert not t.match(b"AB")
    with pytest.raises(KeyError):
        t.unsubscribe(b"AB")


def test_topics_in_byte_order_with_counts() -> None:
    t = Trie()
    for k in (b"b", b"a", b"ab", b"", b"ab"):
        t.subscribe(k)
    assert list(t.topics()) == [(b"", 1), (b"a", 1), (b"ab", 2), (b"b", 1)]


def test_against_a_naive_model() -> None:
    rng = random.Random(1234)
    t = Trie()
    model: dict[bytes, int] = {}
    alphabet = b"ab\0\xff"

    def word(n: int) -> bytes:
        return bytes(rng.choice(alphabet) for _ in range(rng.randint(0, n)))

    for _ in range(3000):
        op = rng.random()
        key = word(4)
        if op < 0.45:
            assert t.subscribe(key) == (key not in model)
            model[key] = model.get(key, 0) + 1
        elif op < 0.8:
            if key in model:
                model[key] -= 1
                last = model[key] == 0
                if last:
                    del model[key]
                assert t.unsubscribe(key) == last
            else:
                with pytest.raises(KeyError):
                    t.unsubscribe(key)
        else:
            data = word(6)
            assert t.match(data) == any(data.startswith(k) for k in model), (data, model)
        assert len(t) == len(model)
    assert dict(t.topics()) == model
