"""A counted prefix trie of byte strings: SUB's subscriptions, sans-IO.

Theory of operation: a radix tree.  Each node carries the bytes of the edge
that leads to it (``label``), a subscription ``count`` and its children
keyed by the first byte of their label.  A message matches when walking it
from the root passes a node with ``count > 0``, i.e. when some subscribed
topic is a prefix of it; the root is the empty topic, so subscribing to
``b""`` matches everything and an empty trie matches nothing.

Subscriptions are counted, as nanomsg's are: subscribing twice needs two
unsubscribes.  Removing the last count of a topic prunes its node and folds
a lone child back into its parent, so the tree stays as small as the set of
live topics.
"""

from __future__ import annotations

from typing import Iterator, Optional

__all__ = ["Trie"]


class _Node:
    __slots__ = ("label", "count", "children")

    def __init__(self, label: bytes, count: int = 0) -> None:
        self.label = label
        self.count = count
        self.children: dict[int, _Node] = {}


def _common(a: bytes, b: bytes, start: int) -> int:
    """Length of the common prefix of *a* and ``b[start:]``."""
    n = min(len(a), len(b) - start)
    i = 0
    while i < n and a[i] == b[start + i]:
        i += 1
    return i


class Trie:
    """Counted byte-prefix subscriptions; ``match`` is the hot path."""

    __slots__ = ("_root", "_topics")

    def __init__(self) -> None:
        self._root = _Node(b"")
        self._topics = 0

    def __len__(self) -> int:
        """How many distinct topics are subscribed."""
        return self._topics

    def subscribe(self, topic: bytes) -> bool:
        """Add one count to *topic*; ``True`` if it was not subscribed before."""
        node, i = self._root, 0
        while i < len(topic):
            first = topic[i]
            child = node.children.get(first)
            if child is None:
                node.children[first] = _Node(topic[i:], 1)
                self._topics += 1
                return True
            k = _common(child.label, topic, i)
            if k < len(child.label):
                # split the edge: node -> mid (shared part) -> child (the rest)
                mid = _Node(child.label[:k])
                child.label = child.label[k:]
                mid.children[child.label[0]] = child
                node.children[first] = mid
                child = mid
            node, i = child, i + k
        node.count += 1
        if node.count == 1:
            self._topics += 1
            return True
        return False

    def unsubscribe(self, topic: bytes) -> bool:
        """Remove one count from *topic*; ``True`` if that was its last.

        Raises :class:`KeyError` if *topic* is not subscribed.
        """
        path: list[_Node] = [self._root]
        node, i = self._root, 0
        while i < len(topic):
            child = node.children.get(topic[i])
            if child is None or not topic.startswith(child.label, i):
                raise KeyError(topic)
            node, i = child, i + len(child.label)
            path.append(node)
        if node.count == 0:
            raise KeyError(topic)
        node.count -= 1
        if node.count:
            return False
        self._topics -= 1
        self._prune(path)
        return True

    @staticmethod
    def _prune(path: list[_Node]) -> None:
        """Drop dead leaves along *path* and fold single-child inner nodes."""
        for depth in range(len(path) - 1, 0, -1):
            node, parent = path[depth], path[depth - 1]
            if node.count:
                return
            if not node.children:
                del parent.children[node.label[0]]
                continue
            if len(node.children) == 1:
                (only,) = node.children.values()
                only.label = node.label + only.label
                parent.children[only.label[0]] = only
            return

    def match(self, data: bytes) -> bool:
        """Whether some subscribed topic is a prefix of *data*."""
        node = self._root
        i, n = 0, len(data)
        while True:
            if node.count:
                return True
            if i >= n:
                return False
            child: Optional[_Node] = node.children.get(data[i])
            if child is None or not data.startswith(child.label, i):
                return False
            i += len(child.label)
            node = child

    def topics(self) -> Iterator[tuple[bytes, int]]:
        """Every subscribed topic with its count, in byte order."""
        stack: list[tuple[bytes, _Node]] = [(b"", self._root)]
        while stack:
            prefix, node = stack.pop()
            if node.count:
                yield prefix, node.count
            for key in sorted(node.children, reverse=True):
                child = node.children[key]
                stack.append((prefix + child.label, child))
