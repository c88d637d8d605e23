"""The Kafka stream processors: one faust app (``streams.app``), thin agents under ``streams.agents``.

Agents decode, call the pure per-message handlers (``streams.handlers``, ``rules``) and produce;
topic names are in ``streams.names``, the worker's resources (city, archive, router) in
``streams.resources``.
"""
