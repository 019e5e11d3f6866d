"""Private room of the core: what the application holds: the socket, its
contexts, the door (the one send/receive path), the socket's shared state,
its options, readiness (``poll``), ``device()`` and the blocking helpers
(thread wakers, trio).  Nothing here is public: import from
:mod:`nanomsg_core`."""
