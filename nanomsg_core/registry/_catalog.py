"""Where the project's own plugins live: for hints only.

The registry knows what is installed from the plugins' own registrations;
nothing in the core behaves differently for a built-in plugin.  What an
installed plugin cannot tell is where a *missing* one comes from, so the
errors for an unknown protocol, scheme or option level look here to add
"provided by nanomsg-pubsub" -- a hint, never a behaviour.  This is the one
module of the core that names the project's distributions
(``tests/architecture`` checks that).
"""

from __future__ import annotations

__all__ = ["KNOWN_LEVELS", "KNOWN_NAMES", "KNOWN_PROTOCOLS", "KNOWN_SCHEMES"]

KNOWN_PROTOCOLS: dict[int, tuple[str, str]] = {
    16: ("pair", "nanomsg-pair"), 17: ("pair1", "nanomsg-pair"),
    32: ("pub", "nanomsg-pubsub"), 33: ("sub", "nanomsg-pubsub"),
    48: ("req", "nanomsg-reqrep"), 49: ("rep", "nanomsg-reqrep"),
    80: ("push", "nanomsg-pipeline"), 81: ("pull", "nanomsg-pipeline"),
    98: ("surveyor", "nanomsg-survey"), 99: ("respondent", "nanomsg-survey"),
    112: ("bus", "nanomsg-bus"),
}
"""Protocol number -> (name, distribution)."""
KNOWN_NAMES: dict[str, tuple[int, str]] = {
    name: (num, dist) for num, (name, dist) in KNOWN_PROTOCOLS.items()}
KNOWN_NAMES.update({"fanout": (80, "nanomsg-pipeline"), "source": (80, "nanomsg-pipeline"),
                    "fanin": (81, "nanomsg-pipeline"), "sink": (81, "nanomsg-pipeline")})
KNOWN_LEVELS: dict[int, str] = {
    -1: "nanomsg-inproc", -2: "nanomsg-ipc", -3: "nanomsg-tcp",
    -4: "nanomsg-ws (contrib)", -5: "nanomsg-tls (contrib)"}
"""Transport option level -> the distribution that declares its options."""
KNOWN_SCHEMES: dict[str, str] = {
    "inproc": "nanomsg-inproc", "ipc": "nanomsg-ipc", "abstract": "nanomsg-ipc",
    "tcp": "nanomsg-tcp", "ws": "nanomsg-ws (contrib)", "wss": "nanomsg-ws (contrib)",
    "tls+tcp": "nanomsg-tls (contrib)"}
"""URL scheme -> the distribution that provides it."""
