"""inproc://: sockets of one process; connect may come before bind."""

import nanomsg_core as nn

with nn.Socket(nn.AF_SP, nn.PUSH) as push, nn.Socket(nn.AF_SP, nn.PULL, recv_timeout=2000) as pull:
    push.connect("inproc://jobs")      # nobody has bound the name yet: that is fine
    pull.bind("inproc://jobs")         # the pending connect pairs up now
    push.send(b"job")
    msg = pull.recv_msg()
    print("got", msg.body, "over", msg.pipe.transport)
    try:
        with nn.Socket(nn.AF_SP, nn.PULL) as other:
            other.bind("inproc://jobs")
    except nn.NanomsgError as e:
        assert e.errno == nn.EADDRINUSE
        print("a second bind of the name:", e.strerror)
