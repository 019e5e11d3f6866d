"""{{ cookiecutter.dist_name }}: the {{ cookiecutter.sender_name }}/{{ cookiecutter.receiver_name }} protocol for nanomsg_core."""

from __future__ import annotations

from ._protocol import RECEIVER, SENDER, Receiver, Sender

__all__ = ["RECEIVER", "Receiver", "SENDER", "Sender"]
