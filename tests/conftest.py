"""Shared fixtures: an archive per test, PostgreSQL and the Chengdu road graph per session."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import networkx as nx
import pytest

from hazmat.cityconfig import City, ZoneFeature, load_city
from hazmat.routing import graph as road_graph
from hazmat.routing.router import Router
from hazmat.routing.zones import load_zones
from tests.postgres_server import PostgresServer
from tests.routing_helpers import CHENGDU


@pytest.fixture(autouse=True)
def _isolated_archive(tmp_path, monkeypatch):
    monkeypatch.setenv("HAZMAT_ARCHIVE", str(tmp_path / "archive.sqlite"))
    monkeypatch.delenv("HAZMAT_CITY", raising=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server for this test session (skipped, saying why, where none can run)."""
    # not under pytest's tmp dir: that is private to root, and the server runs as ``postgres``
    root = Path(tempfile.mkdtemp(prefix="hazmat-pg-"))
    server = PostgresServer(root)
    try:
        url = server.start()
    except (FileNotFoundError, KeyError) as exc:
        pytest.skip(f"no PostgreSQL server here ({exc}); .ci/run installs Debian's postgresql package")
    try:
        yield url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def chengdu() -> City:
    """The Chengdu test city (a real OSM extract, © OpenStreetMap contributors)."""
    return load_city(CHENGDU)


@pytest.fixture(scope="session")
def chengdu_graph(chengdu: City) -> nx.MultiDiGraph:
    """Its road graph, built once (or loaded from the user's cache when its provenance matches)."""
    return road_graph.load(chengdu)


@pytest.fixture(scope="session")
def router(chengdu: City, chengdu_graph: nx.MultiDiGraph) -> Router:
    return Router(chengdu_graph, chengdu)


@pytest.fixture
def with_zones(router: Router) -> Iterator[Callable[..., Router]]:
    """Swap the router's zones for the test's own; the city's come back afterwards."""

    def use(*features: ZoneFeature) -> Router:
        router.set_zones(load_zones(router.city, router.projection, list(features)))
        return router

    yield use
    router.set_zones(load_zones(router.city, router.projection, router.city_zone_features()))
