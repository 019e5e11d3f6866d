"""Private room of the core: the process-wide I/O engine (one thread, the
poller and the timers), the default selector poller, and the runtime that
builds the engine on first use.  Nothing here is public: import from
:mod:`nanomsg_core`."""
