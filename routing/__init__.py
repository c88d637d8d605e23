"""Permitted routes on the OpenStreetMap road graph (shared/spec/routing.md).

``graph`` builds and caches the truck road graph; ``restrictions/`` reads one OSM concern
each; ``zones`` holds the city's zones; ``policy`` decides per load; ``router`` searches and
re-checks. Nothing here touches Kafka.
"""
