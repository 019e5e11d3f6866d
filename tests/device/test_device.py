"""nn.device(): argument checks, nanomsg's tests/device*.c behaviours over
inproc/ipc/tcp, shutdown (EBADF, ETERM, no thread left), and cross-process
REQ -> device -> REP and SURVEYOR -> device -> RESPONDENT chains whose raw
headers show the backtrace growing and shrinking."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Optional

import pytest

import nanomsg_core as nn
from nanomsg_core.protokit.backtrace import ID_FLAG, id_word, words
from tests.support import errno_of, sock, wait_pipes

pytestmark = pytest.mark.timeout(60)

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "device_child.py")


class DeviceThread:
    """``nn.device`` in a thread; :meth:`stop` closes its sockets and joins it."""

    def __init__(self, s1: nn.Socket, s2: Optional[nn.Socket] = None) -> None:
        self.socks = [s for s in (s1, s2) if s is not None]
        self.error: Optional[int] = None
        self.thread = threading.Thread(target=self._run, args=(s1, s2))
        self.thread.start()

    def _run(self, s1: nn.Socket, s2: Optional[nn.Socket]) -> None:
        try:
            nn.device(s1, s2)
        except nn.NanomsgError as e:
            self.error = e.errno

    def stop(self) -> None:
        for s in self.socks:
            s.close()
        self.thread.join(5)
        assert not self.thread.is_alive(), "device thread left behind"
        assert self.error == errno.EBADF


# -- argument checks ----------------------------------------------------------------

def test_device_needs_raw_peer_sockets() -> None:
    with nn.Socket(nn.AF_SP, nn.REP) as cooked, nn.Socket(nn.AF_SP_RAW, nn.REQ) as xreq, \
            nn.Socket(nn.AF_SP_RAW, nn.REP) as xrep, \
            nn.Socket(nn.AF_SP_RAW, nn.SURVEYOR) as xsurv, \
            nn.Socket(nn.AF_SP_RAW, nn.REQ) as xreq2:
        assert errno_of(lambda: nn.device(cooked, xreq)) == errno.EINVAL
        assert errno_of(lambda: nn.device(xreq, cooked)) == errno.EINVAL
        assert errno_of(lambda: nn.device(cooked)) == errno.EINVAL
        assert errno_of(lambda: nn.device(xrep, xsurv)) == errno.EINVAL   # not peers
        assert errno_of(lambda: nn.device(xreq, xreq2)) == errno.EINVAL    # REQ with REQ
        assert errno_of(lambda: nn.device(None, None)) == errno.EBADF
        assert errno_of(lambda: nn.device("x")) == errno.EINVAL       # type: ignore[arg-type]
        xrep.close()
        assert errno_of(lambda: nn.device(xrep, xreq)) == errno.EBADF


# -- tests/device.c --------------------------------------------------------------------

def test_bidirectional_pair_device(new_url: Callable[[], str]) -> None:
    a, b = new_url(), new_url()
    deva, devb = sock(nn.PAIR, nn.AF_SP_RAW), sock(nn.PAIR, nn.AF_SP_RAW)
    deva.bind(a)
    devb.bind(b)
    dev = DeviceThread(deva, devb)
    with sock(nn.PAIR) as enda, sock(nn.PAIR) as endb:
        enda.connect(a)
        endb.connect(b)
        wait_pipes(deva, 1)
        wait_pipes(devb, 1)
        enda.send(b"ABC")
        assert endb.recv() == b"ABC"
        endb.send(b"DEF")
        assert enda.recv() == b"DEF"
    dev.stop()


def test_unidirectional_pipeline_device(new_url: Callable[[], str]) -> None:
    c, d = new_url(), new_url()
    devc, devd = sock(nn.PULL, nn.AF_SP_RAW), sock(nn.PUSH, nn.AF_SP_RAW)
    devc.bind(c)
    devd.bind(d)
    dev = DeviceThread(devc, devd)
    with sock(nn.PUSH) as endc, sock(nn.PULL) as endd:
        endc.connect(c)
        endd.connect(d)
        wait_pipes(devd, 1)
        for i in range(50):
            endc.send(b"XYZ%d" % i)
        assert [endd.recv() for _ in range(50)] == [b"XYZ%d" % i for i in range(50)]
    dev.stop()


def test_loopback_bus_device(new_url: Callable[[], str]) -> None:
    e = new_url()
    deve = sock(nn.BUS, nn.AF_SP_RAW)
    deve.bind(e)
    dev = DeviceThread(deve)
    with sock(nn.BUS, timeout=200) as e1, sock(nn.BUS) as e2:
        e1.connect(e)
        e2.connect(e)
        wait_pipes(deve, 2)
        e1.send(b"KLM")
        assert e2.recv() == b"KLM"
        assert errno_of(e1.recv) == errno.ETIMEDOUT      # never back to the sender
    dev.stop()


# -- tests/device4.c .. device7.c: REQ/REP and SURVEY through one and two devices --

def test_reqrep_through_one_device(new_url: Callable[[], str]) -> None:
    f, g = new_url(), new_url()
    devf, devg = sock(nn.REP, nn.AF_SP_RAW), sock(nn.REQ, nn.AF_SP_RAW)
    devf.bind(f)
    devg.bind(g)
    dev = DeviceThread(devf, devg)
    with sock(nn.REQ) as endf, sock(nn.REP, nn.AF_SP_RAW) as endg:
        endf.connect(f)
        endg.connect(g)
        endf.send(b"XYZ")
        m = endg.recv_msg()
        assert m.body == b"XYZ" and len(words(m.header)) == 3    # own pipe, device, id
        endg.send_msg(nn.Message(b"REPLYXYZ", m.header))
        assert endf.recv() == b"REPLYXYZ"
    dev.stop()


def test_reqrep_through_two_devices(new_url: Callable[[], str]) -> None:
    h, i, j = new_url(), new_url(), new_url()
    dev0, dev1 = sock(nn.REP, nn.AF_SP_RAW), sock(nn.REQ, nn.AF_SP_RAW)
    dev0.bind(h)
    dev1.bind(i)
    d1 = DeviceThread(dev0, dev1)
    dev2, dev3 = sock(nn.REP, nn.AF_SP_RAW), sock(nn.REQ, nn.AF_SP_RAW)
    dev2.connect(i)
    dev3.bind(j)
    d2 = DeviceThread(dev2, dev3)
    with sock(nn.REQ) as end0, sock(nn.REP) as end1:
        end0.connect(h)
        end1.connect(j)
        for n in range(3):
            end0.send(b"XYZ%d" % n)
            assert end1.recv() == b"XYZ%d" % n
            end1.send(b"REPLYXYZ%d" % n)
            assert end0.recv() == b"REPLYXYZ%d" % n
    d1.stop()
    d2.stop()


def test_survey_through_two_devices(new_url: Callable[[], str]) -> None:
    h, i, j = new_url(), new_url(), new_url()
    dev0, dev1 = sock(nn.RESPONDENT, nn.AF_SP_RAW), sock(nn.SURVEYOR, nn.AF_SP_RAW)
    dev0.bind(h)
    dev1.bind(i)
    d1 = DeviceThread(dev0, dev1)
    dev2, dev3 = sock(nn.RESPONDENT, nn.AF_SP_RAW), sock(nn.SURVEYOR, nn.AF_SP_RAW)
    dev2.connect(i)
    dev3.bind(j)
    d2 = DeviceThread(dev2, dev3)
    with sock(nn.SURVEYOR) as end0, sock(nn.RESPONDENT) as end1:
        end0.connect(h)
        end1.connect(j)
        for s, n in ((dev1, 1), (dev3, 1), (dev0, 1), (end0, 1)):
            wait_pipes(s, n)
        end0.send(b"XYZ")
        assert end1.recv() == b"XYZ"
        end1.send(b"REPLYXYZ")
        assert end0.recv() == b"REPLYXYZ"
    d1.stop()
    d2.stop()


# -- shutdown ------------------------------------------------------------------------

def test_device_ends_with_ebadf_when_either_socket_closes(new_url: Callable[[], str]) -> None:
    for which in (0, 1):
        a, b = new_url(), new_url()
        s1, s2 = sock(nn.REP, nn.AF_SP_RAW), sock(nn.REQ, nn.AF_SP_RAW)
        s1.bind(a)
        s2.bind(b)
        dev = DeviceThread(s1, s2)
        (s1, s2)[which].close()
        dev.thread.join(5)
        assert not dev.thread.is_alive() and dev.error == errno.EBADF
        (s1, s2)[1 - which].close()


def test_device_ends_while_holding_a_message_for_a_peerless_socket() -> None:
    s1, s2 = sock(nn.REP, nn.AF_SP_RAW), sock(nn.REQ, nn.AF_SP_RAW)
    url = "inproc://device-held-%d" % os.getpid()
    s1.bind(url)
    dev = DeviceThread(s1, s2)          # s2 has no peer: a forwarded request is held
    with sock(nn.REQ) as req:
        req.connect(url)
        req.send(b"stuck")
        deadline = time.monotonic() + 5
        while s1.can_recv():            # until the device has taken it
            assert time.monotonic() < deadline
            time.sleep(0.002)
        s2.close()
        dev.thread.join(5)
        assert not dev.thread.is_alive() and dev.error == errno.EBADF
    s1.close()


def test_device_raises_eterm_after_term() -> None:
    out = subprocess.run([sys.executable, CHILD, "term"], capture_output=True, timeout=30)
    assert out.stdout.split() == [b"END", b"%d" % nn.ETERM, b"joined"], out.stderr


# -- cross-process chains ------------------------------------------------------------

class ChildDevice:
    """``device_child.py`` running a device between two bound raw sockets."""

    def __init__(self, front: str, back: str, url_a: str, url_b: str) -> None:
        self.proc = subprocess.Popen([sys.executable, CHILD, front, back, url_a, url_b],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.rstrip(b"\r\n") != b"READY":      # a Windows child ends it with \r\n
            self.proc.kill()                        # else stderr.read() would block
            raise AssertionError(line + self.proc.communicate(timeout=10)[1])

    def stop(self) -> bytes:
        out, err = self.proc.communicate(b"", timeout=10)
        assert self.proc.returncode == 0, err
        return out


def test_req_device_rep_across_processes(wire_url: Callable[[], str]) -> None:
    a, b = wire_url(), wire_url()
    child = ChildDevice("rep", "req", a, b)
    try:
        with sock(nn.REQ, nn.AF_SP_RAW) as xreq, sock(nn.REP, nn.AF_SP_RAW) as xrep:
            xreq.connect(a)
            xrep.connect(b)
            wait_pipes(xreq, 1)
            request_id = id_word(0x1234567)
            xreq.send_msg(nn.Message(b"question", request_id))
            m = xrep.recv_msg()
            mine, device_hop, bottom = words(m.header)   # grew by two words
            assert m.pipe is not None and mine == m.pipe.id
            assert not device_hop & ID_FLAG and bottom == 0x1234567 | ID_FLAG
            xrep.send_msg(nn.Message(b"answer", m.header))
            back = xreq.recv_msg()
            assert back.header == request_id and back.body == b"answer"   # shrank back
        with sock(nn.REQ) as req, sock(nn.REP) as rep:      # and cooked, end to end
            req.connect(a)
            rep.connect(b)
            req.send(b"ping")
            assert rep.recv() == b"ping"
            rep.send(b"pong")
            assert req.recv() == b"pong"
    finally:
        out = child.stop()
    assert out.rstrip(b"\r\n") == b"END %d" % errno.EBADF


def test_surveyor_device_respondent_across_processes(wire_url: Callable[[], str]) -> None:
    a, b = wire_url(), wire_url()
    child = ChildDevice("respondent", "surveyor", a, b)
    try:
        with sock(nn.SURVEYOR, nn.AF_SP_RAW) as xs, sock(nn.RESPONDENT, nn.AF_SP_RAW) as xr:
            xs.connect(a)
            xr.connect(b)
            wait_pipes(xs, 1)
            wait_pipes(xr, 1)
            deadline = time.monotonic() + 10
            survey_id = id_word(0x42)
            m: Optional[nn.Message] = None
            # a survey sent while the device's back pipe is still coming up is
            # dropped: send again every 200 ms until one arrives
            xr.setsockopt(nn.SOL_SOCKET, nn.RCVTIMEO, 200)
            while m is None:
                assert time.monotonic() < deadline, "no survey crossed the device"
                xs.send_msg(nn.Message(b"census", survey_id))
                try:
                    m = xr.recv_msg()
                except nn.NanomsgError:
                    m = None
            assert len(words(m.header)) == 3 and words(m.header)[-1] == 0x42 | ID_FLAG
            xr.send_msg(nn.Message(b"present", m.header))
            back = xs.recv_msg()
            assert back.header == survey_id and back.body == b"present"
    finally:
        out = child.stop()
    assert out.rstrip(b"\r\n") == b"END %d" % errno.EBADF
