"""``hazmat=no``: no hazmat load at all (GraphHopper's ``Hazmat``: untagged means yes)."""

from __future__ import annotations

import networkx as nx

NAME = "hazmat_road"
TAGS = ("hazmat",)
ATTR = "hazmat_no"


def parse(tags: dict[str, object]) -> bool:
    return tags.get("hazmat") == "no"


def mark(graph: nx.MultiDiGraph) -> None:
    for _, _, data in graph.edges(data=True):
        data[ATTR] = parse(data)
