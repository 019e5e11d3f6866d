"""(IPC, IPC_PERMISSIONS / IPC_OWNER / IPC_GROUP) and ipc://fd=N adoption."""

from __future__ import annotations

import errno
import os
import socket
import stat
import sys
import tempfile
from collections.abc import Iterator

import pytest

import nanomsg_core as nn

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(sys.platform == "win32", reason="Unix-domain socket files")]


@pytest.fixture
def path() -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="nn-")
    yield os.path.join(d, "s.ipc")
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    os.rmdir(d)


@pytest.fixture
def sock() -> Iterator[nn.Socket]:
    s = nn.Socket(nn.AF_SP, nn.PAIR)
    s.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 10000)
    yield s
    s.close()


def _mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_declared_with_defaults(sock: nn.Socket) -> None:
    assert sock.getsockopt(nn.IPC, nn.IPC_PERMISSIONS) is None
    assert sock.getsockopt(nn.IPC, nn.IPC_OWNER) is None
    assert sock.getsockopt(nn.IPC, nn.IPC_GROUP) is None


@pytest.mark.parametrize("mode", [0o600, 0o660, 0o777, 0o000])
def test_permissions_set_the_file_mode(sock: nn.Socket, path: str, mode: int) -> None:
    old = os.umask(0o022)
    try:
        sock.setsockopt(nn.IPC, nn.IPC_PERMISSIONS, mode)
        assert sock.getsockopt(nn.IPC, nn.IPC_PERMISSIONS) == mode
        sock.bind("ipc://" + path)
    finally:
        os.umask(old)
    assert _mode(path) == mode


def test_default_is_the_umasks(sock: nn.Socket, path: str) -> None:
    old = os.umask(0o027)
    try:
        sock.bind("ipc://" + path)
    finally:
        os.umask(old)
    assert _mode(path) == 0o750


def test_only_endpoints_bound_afterwards(sock: nn.Socket, path: str) -> None:
    sock.bind("ipc://" + path)
    before = _mode(path)
    sock.setsockopt(nn.IPC, nn.IPC_PERMISSIONS, 0o600 if before != 0o600 else 0o640)
    assert _mode(path) == before
    sock.bind("ipc://" + path + "2")
    assert _mode(path + "2") == sock.getsockopt(nn.IPC, nn.IPC_PERMISSIONS)


def test_locked_file_still_serves_its_owner(sock: nn.Socket, path: str) -> None:
    sock.setsockopt(nn.IPC, nn.IPC_PERMISSIONS, 0o600)
    sock.bind("ipc://" + path)
    with nn.Socket(nn.AF_SP, nn.PAIR) as c:
        c.connect("ipc://" + path, block=True)
        c.send(b"owner may")
        assert sock.recv() == b"owner may"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_mode_keeps_other_users_out(sock: nn.Socket, path: str) -> None:
    sock.setsockopt(nn.IPC, nn.IPC_PERMISSIONS, 0o600)
    sock.bind("ipc://" + path)
    os.chmod(os.path.dirname(path), 0o755)
    pid = os.fork()
    if pid == 0:                           # a child that is another user
        code = 1
        try:
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(path)
                except PermissionError:
                    code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "another user could connect"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")
def test_owner_and_group(sock: nn.Socket, path: str) -> None:
    sock.setsockopt(nn.IPC, nn.IPC_OWNER, 65534)
    sock.setsockopt(nn.IPC, nn.IPC_GROUP, 65534)
    sock.bind("ipc://" + path)
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == (65534, 65534)


def test_group_of_our_own(sock: nn.Socket, path: str) -> None:
    sock.setsockopt(nn.IPC, nn.IPC_GROUP, os.getegid())   # allowed without privilege
    sock.bind("ipc://" + path)
    assert os.stat(path).st_gid == os.getegid()


@pytest.mark.parametrize("value, needle", [
    (0o1000, "0o1000"), (-1, "0o000..0o777"), ("0600", "not str"), (True, "not bool"),
    (6.0, "not float")])
def test_bad_mode_is_einval(sock: nn.Socket, value: object, needle: str) -> None:
    with pytest.raises(nn.NanomsgError) as ei:
        sock.setsockopt(nn.IPC, nn.IPC_PERMISSIONS, value)
    assert ei.value.errno == errno.EINVAL
    assert needle in str(ei.value)
    assert sock.getsockopt(nn.IPC, nn.IPC_PERMISSIONS) is None


@pytest.mark.parametrize("option", [nn.IPC_OWNER, nn.IPC_GROUP])
def test_bad_id_is_einval(sock: nn.Socket, option: int) -> None:
    for value in (-2, "root", 1.5):
        with pytest.raises(nn.NanomsgError) as ei:
            sock.setsockopt(nn.IPC, option, value)
        assert ei.value.errno == errno.EINVAL


@pytest.mark.parametrize("level", [nn.TCP, nn.INPROC, nn.WS])
def test_wrong_transport_is_enoprotoopt(sock: nn.Socket, level: int) -> None:
    with pytest.raises(nn.NanomsgError) as ei:
        sock.setsockopt(level, nn.IPC_PERMISSIONS, 0o600)
    assert ei.value.errno == errno.ENOPROTOOPT


def test_chown_refused_leaves_no_file(sock: nn.Socket, path: str) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may give files away")
    sock.setsockopt(nn.IPC, nn.IPC_OWNER, 0)
    with pytest.raises(nn.NanomsgError) as ei:
        sock.bind("ipc://" + path)
    assert ei.value.errno == errno.EPERM
    assert not os.path.exists(path)


# -- ipc://fd=N: adopting a listening socket ------------------------------

def test_adopts_a_listening_socket(sock: nn.Socket, path: str) -> None:
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(8)
    fd = lsock.detach()                   # the endpoint owns it now
    eid = sock.bind("ipc://fd=%d" % fd)
    assert sock.endpoint_address(eid) == "ipc://" + path
    with nn.Socket(nn.AF_SP, nn.PAIR) as c:
        c.connect("ipc://" + path, block=True)
        c.send(b"via an adopted fd")
        assert sock.recv() == b"via an adopted fd"
    sock.shutdown(eid)
    with pytest.raises(OSError):
        os.fstat(fd)                      # closed with the endpoint
    assert os.path.exists(path)           # the file is its maker's to remove


@pytest.mark.parametrize("make, needle", [
    (lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), "does not listen"),
    (lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM), "AF_INET/SOCK_STREAM"),
    (lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM), "AF_UNIX/SOCK_DGRAM")])
def test_adopting_the_wrong_fd_is_einval(sock: nn.Socket, make: object, needle: str) -> None:
    assert callable(make)
    other = make()
    try:
        with pytest.raises(nn.NanomsgError) as ei:
            sock.bind("ipc://fd=%d" % other.fileno())
        assert ei.value.errno == errno.EINVAL
        assert needle in str(ei.value)
        os.fstat(other.fileno())          # still open: still the caller's
    finally:
        other.close()


def test_adopting_no_fd(sock: nn.Socket) -> None:
    with pytest.raises(nn.NanomsgError) as ei:
        sock.bind("ipc://fd=%d" % 999999)      # far above anything open
    assert ei.value.errno in (errno.EBADF, errno.ENOTSOCK)
    with pytest.raises(nn.NanomsgError) as ei:
        sock.bind("ipc://fd=x3")
    assert ei.value.errno == errno.EINVAL
