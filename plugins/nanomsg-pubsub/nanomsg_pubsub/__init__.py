"""nanomsg-pubsub: the PUB/SUB scalability protocol for nanomsg_core."""

from __future__ import annotations

from nanomsg_core import PUB, SUB, SUB_SUBSCRIBE, SUB_UNSUBSCRIBE

from ._pubsub import Pub, Sub, SubCtx
from ._trie import Trie

__all__ = ["PUB", "Pub", "SUB", "SUB_SUBSCRIBE", "SUB_UNSUBSCRIBE", "Sub", "SubCtx", "Trie"]
