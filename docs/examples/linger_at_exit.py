"""LINGER at exit: a child process sends 1000 jobs and exits without closing
its socket; every job still arrives, because the exit waits (up to LINGER)
for what was queued to be written."""

import subprocess
import sys

import nanomsg_core as nn

CHILD = """
import sys, time
import nanomsg_core as nn
push = nn.Socket(nn.AF_SP, nn.PUSH, connect=sys.argv[1], linger=5000)
while not push.pipes:           # wait for the connection (a real program would use block=True)
    time.sleep(0.001)
for i in range(1000):
    push.send(b"job %d" % i)
# no close(): at exit, what is queued is still written, for up to 5 s
"""

with nn.Socket(nn.AF_SP, nn.PULL, bind="tcp://127.0.0.1:0", recv_timeout=10000) as pull:
    url = pull.endpoint_address(1)
    child = subprocess.Popen([sys.executable, "-c", CHILD, url])
    jobs = [pull.recv() for _ in range(1000)]
    child.wait(timeout=30)
    print("received", len(jobs), "jobs; last:", jobs[-1].decode())
