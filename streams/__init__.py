"""The Kafka stream processors on Quix Streams: the application (``streams.app``), thin agents under
``streams.agents``.

Agents decode, call the pure per-message handlers (``streams.handlers``, ``rules``) and return what
to produce; topic names are in ``streams.names``, the worker's resources (city, archive, router) in
``streams.resources``, its settings in ``streams.settings``.
"""
