"""``hazmat:water=no``: no load that endangers water (by default every hazmat class does).

``permissive`` is recorded but allows passage, as in GraphHopper's ``HazmatWater``.
"""

from __future__ import annotations

import networkx as nx

NAME = "hazmat_water_road"
TAGS = ("hazmat:water",)
ATTR = "hazmat_water_no"


def parse(tags: dict[str, object]) -> bool:
    return tags.get("hazmat:water") == "no"


def mark(graph: nx.MultiDiGraph) -> None:
    for _, _, data in graph.edges(data=True):
        data[ATTR] = parse(data)
