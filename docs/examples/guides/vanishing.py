"""Messages that vanish, and how to see why: a log handler, the statistics."""

import logging
import time

import nanomsg_core as nn

# 1. Show the library's warnings (it logs through "nanomsg_core"; no handler, no output).
logging.basicConfig(level=logging.WARNING, format="  log: %(levelname)s %(name)s: %(message)s")


def wait_for(pred, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise SystemExit("gave up waiting for " + what)
        time.sleep(0.01)


# 2. A message larger than the receiver's RCVMAXSIZE (1 MiB by default).
with nn.Socket(nn.AF_SP, nn.PULL, bind="tcp://127.0.0.1:0", recv_timeout=300) as pull, \
        nn.Socket(nn.AF_SP, nn.PUSH) as push:
    push.connect(pull.endpoint_address(1))
    wait_for(lambda: push.pipes, "the connection")
    push.send(b"x" * (2 << 20))                  # succeeds: it is queued for the peer
    wait_for(lambda: pull.get_statistic(nn.STAT_BROKEN_CONNECTIONS) == 1, "the drop")
    try:
        pull.recv()
    except nn.NanomsgError as e:
        print("2 MiB over tcp:", e)
    print("  receiver: broken connections", pull.get_statistic(nn.STAT_BROKEN_CONNECTIONS),
          "messages received", pull.get_statistic(nn.STAT_MESSAGES_RECEIVED))

    pull.recv_max_size = 4 << 20                 # the fix: on the receiver (-1: no limit)
    pull.recv_timeout = 5000
    wait_for(lambda: pull.get_statistic(nn.STAT_ACCEPTED_CONNECTIONS) == 2
             and push.pipes, "the reconnection")
    push.send(b"x" * (2 << 20))
    print("with recv_max_size = 4 MiB:", len(pull.recv()), "bytes")

# 3. A SUB socket with no subscription receives nothing.
with nn.Socket(nn.AF_SP, nn.PUB, bind="tcp://127.0.0.1:0") as pub, \
        nn.Socket(nn.AF_SP, nn.SUB, recv_timeout=300) as sub:
    sub.connect(pub.endpoint_address(1))
    wait_for(lambda: pub.pipes, "the subscriber")   # PUB drops what it sends before this
    pub.send(b"news")
    try:
        sub.recv()
    except nn.NanomsgError as e:
        print("SUB without a subscription:", e)
    sub.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"")  # b"": every message
    sub.recv_timeout = 5000
    pub.send(b"news")
    print("after SUB_SUBSCRIBE b'':", sub.recv())
