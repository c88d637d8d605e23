"""Routing fixtures beyond the Chengdu test city: the bundled Harbin extract, for cases Chengdu lacks."""

from __future__ import annotations

import pytest

from hazmat.cityconfig import City, load_city
from hazmat.routing import graph as road_graph
from hazmat.routing.router import Router


@pytest.fixture(scope="session")
def harbin() -> City:
    return load_city("harbin")


@pytest.fixture(scope="session")
def harbin_router(harbin: City) -> Router:
    """Central Harbin without its zones (built once, ~40 s, then loaded from the user's cache)."""
    return Router(road_graph.load(harbin), harbin, zones=[])
