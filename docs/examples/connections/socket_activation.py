"""A listener handed over as systemd does (socket activation).

The "service manager" below binds and listens on a TCP port and an ipc://
path, then starts the service with the sockets as fds 3 and 4 and with
LISTEN_FDS / LISTEN_PID / LISTEN_FDNAMES set, exactly as systemd does for a
.socket unit.  The service adopts them with bind("tcp://fd=3") and
bind("ipc://fd=4") (activation_url picks the form) and serves; the manager
then talks to it as any client would.  Run: python socket_activation.py
"""

import os
import socket
import subprocess
import sys
import tempfile

import nanomsg_core as nn

SERVICE = r"""
import nanomsg_core as nn
from nanomsg_socket import activation_url, listen_fd_names
with nn.Socket(nn.AF_SP, nn.REP) as rep:
    rep.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 20000)
    for name, fd in sorted(listen_fd_names().items()):
        eid = rep.bind(activation_url(fd))
        print("service: %s fd %d -> %s" % (name, fd, rep.endpoint_address(eid)), flush=True)
    for _ in range(2):
        rep.send(b"served " + rep.recv())
"""

# What the service manager does with ListenStream=127.0.0.1:0 and ListenStream=PATH
tcp = socket.socket()
tcp.bind(("127.0.0.1", 0))
tcp.listen(128)
path = os.path.join(tempfile.mkdtemp(), "activated.ipc")
unix = socket.socket(socket.AF_UNIX)
unix.bind(path)
unix.listen(128)

LAUNCH = r"""
import os, sys
os.dup2(int(sys.argv[1]), 3)                 # systemd passes fds from 3 on
os.dup2(int(sys.argv[2]), 4)
os.environ.update(LISTEN_FDS="2", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="web:local")
os.execv(sys.executable, [sys.executable, "-c", sys.argv[3]])
"""
service = subprocess.Popen(
    [sys.executable, "-c", LAUNCH, str(tcp.fileno()), str(unix.fileno()), SERVICE],
    pass_fds=[tcp.fileno(), unix.fileno()])
port = tcp.getsockname()[1]
tcp.close()                                  # the service holds them now
unix.close()

for url in ("tcp://127.0.0.1:%d" % port, "ipc://" + path):
    with nn.Socket(nn.AF_SP, nn.REQ) as req:
        req.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 20000)
        req.connect(url, block=True)
        req.send(url.encode())
        print("client:", req.recv())
print("service exited with", service.wait(timeout=30))
os.unlink(path)
os.rmdir(os.path.dirname(path))
