"""A worker's resources: the city configuration, the archive, the run-time blacklist, the router and geofence.

Loaded once when the worker starts (``hazmat worker`` validates the city before that), so
a bad configuration stops the start instead of the first message.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from hazmat.archive import Archive, open_archive
from hazmat.cityconfig import City, load_city
from hazmat.events import Pass, Route, RouteRequest
from hazmat.rules import Blacklist, RuleSettings

from .handlers import BlacklistChange, no_router

log = logging.getLogger("hazmat.streams")

ARCHIVE_RETRY_MAX_S = 30.0
T = TypeVar("T")


@cache
def city() -> City:
    return load_city()


@cache
def archive() -> Archive:
    return open_archive(city().archive_path())


class RuntimeBlacklist:
    """The city's ``blacklist.yaml`` plus what arrived on the compacted topic."""

    def __init__(self, base: RuleSettings) -> None:
        self._base = base
        self._added: dict[str, dict[str, str]] = {"carriers": {}, "plates": {}, "persons": {}}
        self._settings = base
        self.ready = threading.Event()  # set by the follower thread once it has caught up

    def apply(self, change: BlacklistChange) -> None:
        for listing in self._added.values():
            listing.pop(change.key, None)
        if change.entry is not None:
            self._added[change.entry.list][change.key] = change.entry.reason
        base = self._base.blacklist
        merged = Blacklist(
            carriers={**base.carriers, **self._added["carriers"]},
            plates={**base.plates, **self._added["plates"]},
            persons={**base.persons, **self._added["persons"]},
        )
        self._settings = dataclasses.replace(self._base, blacklist=merged)

    @property
    def settings(self) -> RuleSettings:
        return self._settings


@cache
def blacklist() -> RuntimeBlacklist:
    return RuntimeBlacklist(city().rule_settings())


_router: Any = None
_router_error: str | None = None
_fence: Any = None
_loading = threading.Lock()


def router_plan() -> Callable[[RouteRequest], Route]:
    """The city's router (graph from the cache, or built once); a stand-in that explains when there is none.

    Blocking (a graph build takes seconds): the worker calls it once before it starts its stream.
    """
    with _loading:
        _load_router()
    if _router is not None:
        return _router.plan
    reason = _router_error or "unknown"
    return lambda request, **_: no_router(request, reason)  # ``passes=`` as the router's plan takes them


def _load_router() -> None:
    global _router, _router_error
    if _router is not None or _router_error is not None:
        return
    from hazmat.routing import graph as road_graph
    from hazmat.routing.router import Router

    try:
        # the network's arrays (cached beside the graph by ``hazmat graph build``), not the networkx graph
        router = Router(road_graph.load_network(city()), city())
        # the unrestricted metric before the first message (seconds at province scale); the default
        # load class and the time-dependent search's potentials follow in the background
        started = time.perf_counter()
        router.warm(lazy_classes=True)
        _router = router
        log.info(
            "router ready",
            extra={
                "city": city().folder.name,
                "edges": len(router.net.head),
                "warm_s": round(time.perf_counter() - started, 3),
            },
        )
    except road_graph.GraphSourceError as exc:
        _router_error = str(exc)
        log.warning("no router for this city", extra={"reason": _router_error})


def loaded_router() -> Any | None:
    """The router if it is loaded already (never loads it: the timers and followers do not wait for it)."""
    return _router


def prepare_ahead(now: datetime, horizon_s: float) -> int:
    """Customise, in the background, the states the zone windows bring within ``horizon_s`` (``Router.prepare``)."""
    router = loaded_router()
    return 0 if router is None else router.prepare(now, horizon_s)


def prepare_passes(plate: str, passes: Sequence[Pass], now: datetime, horizon_s: float) -> int:
    """A pass arrived for ``plate``: customise, in the background, the states its passes make now and when they
    start within ``horizon_s`` (``Router.prepare_passes``), before a request of the plate needs them."""
    router = loaded_router()
    return 0 if router is None else router.prepare_passes(plate, passes, now, horizon_s)


def geofence() -> Any:
    """Zones (and fast roads, for the speed caps) of the city, indexed once per worker. Blocking."""
    global _fence
    with _loading:
        if _fence is None:
            _fence = _build_geofence()
    return _fence


def built_geofence() -> Any | None:
    """The geofence if it is built already (no thread hop per ping once it is)."""
    return _fence


def _build_geofence() -> Any:
    from hazmat.monitor.geofence import Geofence
    from hazmat.routing.geo import Projection
    from hazmat.routing.graph import FAST_ROADS, first_value
    from hazmat.routing.zones import load_zones

    _load_router()
    if _router is not None:
        data = _router.net.data
        # read per arc through its tag set (no dict per arc: a province has millions)
        fast = [
            _router.net.projected[i] for i in range(len(data)) if first_value(data.tags(i).get("highway")) in FAST_ROADS
        ]
        return Geofence(_router.zones, _router.projection, fast_roads=fast)
    features = city().zones.zones
    ring = features[0].geometry.coordinates[0] if features else None
    corner = ring[0] if ring and isinstance(ring[0][0], float) else (ring[0][0] if ring else (116.4, 39.9))
    projection = Projection.around(corner[0], corner[1])
    return Geofence(load_zones(city(), projection), projection)


def monitor_settings() -> Any:
    from hazmat.monitor.judge import MonitorSettings

    c = city().settings
    return MonitorSettings(
        corridor_m=c.corridor_m,
        deviation_pings=c.deviation_pings,
        gps_tolerance_m=c.gps_tolerance_m,
        motorway_kmh=c.speed_caps_kmh.motorway,
        default_kmh=c.speed_caps_kmh.default,
    )


def in_archive(call: Callable[..., T], *args: Any, what: str, **context: Any) -> T:
    """``call(archive, *args)``, retried with back-off while the archive fails (rather than lose a write).

    Blocking: the stream waits, its offsets are not committed meanwhile, so a worker that dies
    while the archive is down handles the message again (at-least-once, idempotent by id).
    """
    delay = 0.1
    while True:
        try:
            return call(archive(), *args)
        except Exception:
            log.exception("archive call failed; retrying", extra={"call": what, "retry_in_s": delay, **context})
            time.sleep(delay)  # back-off before the next attempt, not a wait for a condition
            delay = min(delay * 2, ARCHIVE_RETRY_MAX_S)


def flow_settings() -> Any:
    from hazmat.flows.watch import FlowSettings

    c = city().settings
    return FlowSettings(arrival_radius_m=c.flow_arrival_radius_m, track_every_s=c.flow_track_every_s)
