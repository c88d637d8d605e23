"""Tunnel categories A–E for dangerous goods (ADR 1.9.5), from the map.

Precedence, in this order: ``hazmat:adr_tunnel_cat``, then ``hazmat:tunnel_cat``, then
``hazmat=no`` on a tunnel (category E). A value outside A–E is ignored, never guessed. A
``tunnel=yes`` with none of these is recorded as ``untagged``; the city's
``untagged_tunnel_policy`` decides what that means (default: forbidden to hazmat loads).
Not a tunnel: ``None``.
"""

from __future__ import annotations

from enum import StrEnum

import networkx as nx

NAME = "tunnel"
TAGS = ("tunnel", "hazmat:adr_tunnel_cat", "hazmat:tunnel_cat", "hazmat")
ATTR = "tunnel_cat"
UNTAGGED = "untagged"


class TunnelCategory(StrEnum):
    """A: no restriction … E: the strictest (only a few goods may pass)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


def _is_tunnel(value: object) -> bool:
    return value not in (None, "", "no") and value == value  # NaN from osmnx is not a tunnel


def parse(tags: dict[str, object]) -> str | None:
    if not _is_tunnel(tags.get("tunnel")):
        return None
    for key in ("hazmat:adr_tunnel_cat", "hazmat:tunnel_cat"):
        value = tags.get(key)
        if isinstance(value, str) and value.upper() in TunnelCategory.__members__:
            return TunnelCategory(value.upper()).value
    if tags.get("hazmat") == "no":
        return TunnelCategory.E.value
    return UNTAGGED


def forbids(category: str | None, tunnel_code: str, *, untagged_forbidden: bool) -> bool:
    """A load with tunnel restriction code X may not enter tunnels of category X or above."""
    if category is None:
        return False
    if category == UNTAGGED:
        return untagged_forbidden
    return category >= tunnel_code


def mark(graph: nx.MultiDiGraph) -> None:
    for _, _, data in graph.edges(data=True):
        data[ATTR] = parse(data)
