"""Private room of the core: the connection side of a socket: endpoints (one
``bind``/``connect`` each, with the reconnect loop), pipes (one connection
each) and the messages they carry.  Nothing here is public: import from
:mod:`nanomsg_core`."""
