"""Permitted routes on the OpenStreetMap road graph (the routing issue fills this package)."""
