"""One module per flow, each thin: decode, call the pure core (``streams.handlers``, ``hazmat.monitor``,
``hazmat.flows``), return what to produce.

Per plate (one state each, :mod:`hazmat.streams.vehicles`): ``checkins`` (verdict, alerts,
archive entry, the plate's load), ``routes`` (permitted routes, the plate's corridor),
``positions`` (alerts, flow tracks and arrivals), ``flows`` (deliveries; the overdue timer).
Every worker whole: ``blacklist`` and ``passes`` (followers of compacted topics).
"""
