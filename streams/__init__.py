"""The Kafka stream processors: one faust app (``streams.app``), thin agents under ``streams.agents``.

Agents decode, call the pure core (``streams.core``, ``rules``) and produce; topic names
are in ``streams.names``.
"""
