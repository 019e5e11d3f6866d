"""Typed options, a named socket, a pipe's surface and errors that say what
happened.  Run it: ``python docs/examples/typed_options_and_errors.py``;
``mypy --strict`` passes it too (docs/reference/options.md)."""

from __future__ import annotations

from typing_extensions import Unpack

import nanomsg_core as nn


def surveyor(url: str, **options: Unpack[nn.SocketOptions]) -> nn.Socket:
    """Options pass through typed: a checker refuses recv_timout=... here."""
    return nn.Socket(nn.AF_SP, nn.SURVEYOR, bind=url, **options)


def main() -> None:
    url = "inproc://typed-example"
    with surveyor(url, name="poll-taker", recv_timeout=5000) as s, \
            nn.Socket(nn.AF_SP, nn.RESPONDENT, connect=url, recv_timeout=5000) as r:
        print(repr(s))                             # <nanomsg_core.Socket surveyor 'poll-taker'>
        s.setsockopt(nn.SURVEYOR, nn.SURVEYOR_DEADLINE, 200)
        while not s.pipes:                         # wait for the respondent to join
            nn.poll([(s, nn.POLLOUT)], 10)
        s.send(b"who is there?")
        question = r.recv_msg()
        pipe = question.pipe
        assert pipe is not None
        print("question came over pipe", pipe.id, pipe.transport, pipe.remote_address)
        r.send(b"me")
        print("answer:", s.recv())
        try:
            s.recv()                               # nobody else answers
        except TimeoutError as e:
            print("then:", e)                      # names SURVEYOR_DEADLINE
        try:
            s.recv()
        except nn.NanomsgError as e:
            print("and then:", e)                  # [EFSM] no survey running: ...
        try:
            pipe.send(b"x")                        # type: ignore[arg-type]
        except TypeError as e:
            print("pipe.send:", e)


if __name__ == "__main__":
    main()
