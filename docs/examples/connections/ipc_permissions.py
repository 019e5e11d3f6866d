"""Locking an ipc:// socket file down: only its owner may connect.

Run: python ipc_permissions.py   (POSIX)
"""

import os
import stat
import tempfile

import nanomsg_core as nn

path = os.path.join(tempfile.mkdtemp(), "private.ipc")

with nn.Socket(nn.AF_SP, nn.REP) as server, nn.Socket(nn.AF_SP, nn.REQ) as client:
    server.setsockopt(nn.IPC, nn.IPC_PERMISSIONS, 0o600)   # before bind
    server.bind("ipc://" + path)
    print("socket file mode:", oct(stat.S_IMODE(os.stat(path).st_mode)))

    client.connect("ipc://" + path, block=True)            # same user: allowed
    client.send(b"hello")
    print("server got", server.recv())

    try:
        server.setsockopt(nn.IPC, nn.IPC_PERMISSIONS, 0o1777)
    except nn.NanomsgError as e:
        print("refused:", e)
os.rmdir(os.path.dirname(path))
