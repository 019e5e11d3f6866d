"""One selectors loop multiplexing three sockets through RCVFD: a PULL, a
SUB and a REP, each fed by its own peer."""

import selectors

import nanomsg_core as nn

pull = nn.Socket(nn.AF_SP, nn.PULL, bind="inproc://jobs")
sub = nn.Socket(nn.AF_SP, nn.SUB, bind="inproc://news")
sub.setsockopt(nn.SUB, nn.SUB_SUBSCRIBE, b"")
rep = nn.Socket(nn.AF_SP, nn.REP, bind="inproc://questions")

push = nn.Socket(nn.AF_SP, nn.PUSH, connect="inproc://jobs")
pub = nn.Socket(nn.AF_SP, nn.PUB, connect="inproc://news")
req = nn.Socket(nn.AF_SP, nn.REQ, connect="inproc://questions", recv_timeout=5000)

sel = selectors.DefaultSelector()
for name, s in (("pull", pull), ("sub", sub), ("rep", rep)):
    sel.register(s.recv_fd, selectors.EVENT_READ, (name, s))   # readable = can recv

push.send(b"job 1")
pub.send(b"headline")
req.send(b"question?")

seen = {}
while len(seen) < 3:
    for key, _ in sel.select(timeout=5):
        name, s = key.data
        body = s.recv(nn.DONTWAIT)            # never blocks: the fd said so
        seen[name] = body
        if s is rep:
            rep.send(b"answer to " + body)

assert req.recv() == b"answer to question?"
print(sorted(seen.items()))
sel.close()
for s in (pull, sub, rep, push, pub, req):
    s.close()
