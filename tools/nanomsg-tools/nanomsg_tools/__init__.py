"""nanomsg_tools: the command-line tools of nanomsg_core, built on its public API only.

* ``nncat`` (``python -m nanomsg_tools.nncat``): nanocat-compatible peer;
* ``inproc_lat``, ``inproc_thr``, ``local_lat``/``remote_lat``,
  ``local_thr``/``remote_thr`` (:mod:`nanomsg_tools.perf`): nanomsg's perf tools;
* ``python -m nanomsg_tools.soak``: a soak run;
* ``python -m nanomsg_tools.demo``: sockets talking across processes.
"""
