"""Private room of the core: the registry plugins fill (protocols, transports,
pollers, option specs), the typed hook callers, the hint catalog and the
core's own plugin.  Nothing here is public: import from :mod:`nanomsg_core`."""
