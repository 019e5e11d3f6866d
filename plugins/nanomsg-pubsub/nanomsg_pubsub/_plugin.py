"""Registers PUB (32) and SUB (33) with nanomsg_core."""

from __future__ import annotations

from nanomsg_core import PUB, SUB, SUB_SUBSCRIBE, SUB_UNSUBSCRIBE, Registry, hookimpl

from ._pubsub import Pub, Sub


@hookimpl
def nanomsg_core_register(registry: Registry) -> None:
    registry.add_protocol(PUB, "pub", SUB, Pub, distribution="nanomsg-pubsub")
    registry.add_protocol(SUB, "sub", PUB, Sub, distribution="nanomsg-pubsub",
                          options={SUB_SUBSCRIBE: "SUB_SUBSCRIBE",
                                   SUB_UNSUBSCRIBE: "SUB_UNSUBSCRIBE"})
