"""``hazmat:<class>=no`` (``hazmat:3=no``, ``hazmat:2.3=no``): no load of that class or division."""

from __future__ import annotations

import networkx as nx

NAME = "hazmat_class_road"
CLASSES = (
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "2.1",
    "2.2",
    "2.3",
    "4.1",
    "4.2",
    "4.3",
    "5.1",
    "5.2",
    "6.1",
    "6.2",
)
TAGS = tuple(f"hazmat:{c}" for c in CLASSES)
ATTR = "hazmat_class_no"


def parse(tags: dict[str, object]) -> tuple[str, ...]:
    return tuple(c for c in CLASSES if tags.get(f"hazmat:{c}") == "no")


def mark(graph: nx.MultiDiGraph) -> None:
    for _, _, data in graph.edges(data=True):
        data[ATTR] = parse(data)
