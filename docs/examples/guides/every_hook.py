"""One observer implementing every hook of nanomsg_core.hookspecs, and what it sees."""

import threading

import nanomsg_core as nn

EVENTS = {nn.PIPE_EV_ADD_PRE: "ADD_PRE", nn.PIPE_EV_ADD_POST: "ADD_POST",
          nn.PIPE_EV_REM_POST: "REM_POST"}


class Observer:
    """Hooks run on whichever thread caused the event: keep them short, never block."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[str] = []
        self.failed = threading.Event()

    def note(self, text: str) -> None:
        with self.lock:
            self.seen.append(text)

    @nn.hookimpl
    def nanomsg_core_socket_opened(self, socket: nn.Socket) -> None:
        self.note("opened %s" % socket.protocol_name)

    @nn.hookimpl
    def nanomsg_core_socket_closed(self, socket: nn.Socket) -> None:
        self.note("closed %s" % socket.protocol_name)

    @nn.hookimpl
    def nanomsg_core_endpoint_bound(self, socket: nn.Socket, endpoint: nn.Endpoint) -> None:
        self.note("bound %s" % endpoint.url)

    @nn.hookimpl
    def nanomsg_core_endpoint_connected(self, socket: nn.Socket, endpoint: nn.Endpoint,
                                        pipe: nn.Pipe) -> None:
        self.note("connected %s over %s" % (endpoint.url, pipe.transport))

    @nn.hookimpl
    def nanomsg_core_endpoint_connect_failed(self, socket: nn.Socket, endpoint: nn.Endpoint,
                                             errno: int) -> None:
        self.note("connect to %s failed: %s" % (endpoint.url, nn.strerror(errno)))
        self.failed.set()

    @nn.hookimpl
    def nanomsg_core_pipe_event(self, socket: nn.Socket, pipe: nn.Pipe, event: int) -> None:
        self.note("%s pipe %s" % (socket.protocol_name, EVENTS[event]))

    @nn.hookimpl
    def nanomsg_core_message_sent(self, socket: nn.Socket, message: nn.Message) -> None:
        self.note("%s sent %r" % (socket.protocol_name, message.body))

    @nn.hookimpl
    def nanomsg_core_message_received(self, socket: nn.Socket, message: nn.Message) -> None:
        self.note("%s received %r" % (socket.protocol_name, message.body))


observer = Observer()
nn.register_plugin(observer)
try:
    with nn.Socket(nn.AF_SP, nn.REP, bind="inproc://hooks", recv_timeout=2000) as rep, \
            nn.Socket(nn.AF_SP, nn.REQ, recv_timeout=2000) as req:
        req.connect("inproc://hooks")
        req.send(b"ping")
        rep.send(rep.recv())
        req.recv()
        # a connection attempt that fails: a tcp port nobody listens on
        with nn.Socket(nn.AF_SP, nn.PAIR) as probe:
            port = probe.endpoint_address(probe.bind("tcp://127.0.0.1:0")).rsplit(":", 1)[1]
        with nn.Socket(nn.AF_SP, nn.PAIR, connect="tcp://127.0.0.1:" + port):
            observer.failed.wait(5)
finally:
    nn.unregister_plugin(observer)

for line in observer.seen:
    print(line)
assert any(line.startswith("connect to") for line in observer.seen)
