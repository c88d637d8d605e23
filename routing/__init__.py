"""Permitted routes on the OpenStreetMap road graph (shared/spec/routing.md).

``graph`` builds and caches the truck road graph; ``restrictions/`` reads one OSM concern
each; ``zones`` holds the city's zones; ``policy`` decides per load; ``router`` decides which
search answers, over ``network`` (the edges as arrays, snapping in ``snapping``), ``metrics``
(the CCH) and ``tdsearch`` (the time-dependent search); ``recheck`` checks every answer and
``answer`` words the refusals. Nothing here touches Kafka.
"""
