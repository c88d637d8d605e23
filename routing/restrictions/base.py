"""What a road restriction declares: the OSM tags it reads, the edge attribute it writes, when
that closes the road to a load, and the reason a dispatcher reads (GraphHopper's one parser per
tag, in one registry).

Record at build time (``parse`` turns an edge's tags into one attribute value; empty or false
means unrestricted), decide at query time (``closes`` looks at that value and the load; a truthy
answer is the detail the ``reason`` names).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class LoadLike(Protocol):
    """What a restriction may ask of a load (``routing.policy.Load``)."""

    classes: frozenset[str]
    un_numbers: frozenset[str]
    tunnel_code: str


@dataclass(frozen=True)
class CityRoadRules:
    """The city settings a restriction may depend on (``city.yaml``: ``untagged_tunnel_policy``)."""

    untagged_tunnel_forbidden: bool = True


@dataclass(frozen=True)
class Road:
    """The road's name for reasons, in both languages (unnamed roads say so)."""

    zh: str
    en: str

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Road:
        name = data.get("name")
        if not name:
            return cls("未命名道路", "unnamed road")
        text = f"{name[0] if isinstance(name, list) else name}"
        return cls(text, text)


@dataclass(frozen=True)
class RoadRestriction:
    kind: str  # the ``Avoided.kind`` of a road it closes (events.md)
    tags: tuple[str, ...]  # the OSM way tags it reads (kept on edges, never merged across)
    attr: str  # the edge attribute it writes
    parse: Callable[[Mapping[str, Any]], Any]
    closes: Callable[[Any, LoadLike, CityRoadRules], Any]
    reason: Callable[[Road, Any, LoadLike], tuple[str, str]]  # (zh, en)


def tag_says_no(*, kind: str, tag: str, attr: str, zh: str, en: str) -> RoadRestriction:
    """A restriction that closes a road to every hazmat load when ``tag=no`` (``permissive`` and the rest allow)."""
    return RoadRestriction(
        kind=kind,
        tags=(tag,),
        attr=attr,
        parse=lambda tags: tags.get(tag) == "no",
        closes=lambda value, load, rules: value,
        reason=lambda road, _, load: (f"{road.zh}{zh}", f"{road.en}: {en}"),
    )
