"""A framework observing every socket through the hooks: counts messages
per protocol and logs connection events."""

import collections

import nanomsg_core as nn


class Observer:
    def __init__(self) -> None:
        self.messages: collections.Counter = collections.Counter()
        self.events: list = []

    @nn.hookimpl
    def nanomsg_core_message_sent(self, socket: nn.Socket, message: nn.Message) -> None:
        self.messages[socket.protocol_name, "sent"] += 1

    @nn.hookimpl
    def nanomsg_core_message_received(self, socket: nn.Socket, message: nn.Message) -> None:
        self.messages[socket.protocol_name, "received"] += 1

    @nn.hookimpl
    def nanomsg_core_pipe_event(self, socket: nn.Socket, pipe: nn.Pipe, event: int) -> None:
        self.events.append((socket.protocol_name, event))


observer = Observer()
nn.register_plugin(observer)
try:
    with nn.Socket(nn.AF_SP, nn.REP, bind="inproc://svc") as rep, \
            nn.Socket(nn.AF_SP, nn.REQ, connect="inproc://svc") as req:
        for i in range(3):
            req.send(b"q%d" % i)
            rep.send(rep.recv())
            req.recv()
finally:
    nn.unregister_plugin(observer)
print(dict(observer.messages))
assert observer.messages["req", "sent"] == 3 and observer.messages["rep", "received"] == 3
