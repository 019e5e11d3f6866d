"""A parent and a child process talking over a socketpair (socket://FD).

The parent keeps one end, hands the other to the child (inherited fd), and
both turn their end into a PAIR connection.  Run: python socketpair_child.py
"""

import socket
import subprocess
import sys

import nanomsg_core as nn

CHILD = r"""
import sys
import nanomsg_core as nn
with nn.Socket(nn.AF_SP, nn.PAIR) as s:
    s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 20000)
    s.bind("socket://" + sys.argv[1])          # adopt the inherited end
    question = s.recv()
    s.send(b"child got: " + question)
    s.recv()                                   # wait for the parent's goodbye
"""

if __name__ == "__main__":
    mine, theirs = socket.socketpair()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(theirs.fileno())],
                             pass_fds=[theirs.fileno()])
    theirs.close()                                 # the child has its own copy
    with nn.Socket(nn.AF_SP, nn.PAIR) as s:
        s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 20000)
        s.connect("socket://%d" % mine.detach(), block=True)   # the endpoint owns it now
        s.send(b"hello, child")
        print("parent got:", s.recv())
        s.send(b"bye")
    print("child exited with", child.wait(timeout=30))
