"""Zones from the city's ``zones.geojson``: which loads they apply to, when they are active,
and their exact (buffered) shapes in metres.

Edges are matched to zones once, by their full geometry (not their end nodes), through a
shapely STRtree; at query time only the time windows and ``applies_to`` are evaluated.

A zone *closes* a piece of road that meets it. A designated area (规定路线) closes only the
pieces whose part inside it strays from its designated roads: what stays open is the
roads' *corridor*, the roads buffered by ``match_m``, and a piece is closed when what is
left of it outside the corridor still meets the area (:meth:`Zone.closes`). A police pass
with a route widens what stays open by its route's corridor, in any zone it opens.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache

import numpy as np
import shapely
from shapely import STRtree, prepare
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from hazmat.cityconfig import City, RoadFeature, Window, ZoneFeature, designated_problems
from hazmat.errors import ConfigError
from hazmat.hazard_classes import covers
from hazmat.zone_kinds import DEFAULT_MATCH_M

from .geo import Projection

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=256)
def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def window_active(window: Window, local: datetime) -> bool:
    """``start`` ≤ t < ``end`` on one of ``days``; ``end`` ≤ ``start`` runs past midnight into the next day."""
    start, end = _minutes(window.start), _minutes(window.end)
    now = local.hour * 60 + local.minute
    today = _DAYS[local.weekday()]
    yesterday = _DAYS[(local.weekday() - 1) % 7]
    if start < end:
        return today in window.days and start <= now < end
    return (today in window.days and now >= start) or (yesterday in window.days and now < end)


@dataclass(frozen=True, eq=False)  # hashed by identity: a zone is one object per load of the config
class Zone:
    id: str
    name: str
    kind: str
    classes: frozenset[str] | None
    un_numbers: frozenset[str] | None
    windows: tuple[Window, ...] | None
    buffer_m: float
    lonlat: BaseGeometry
    metric: BaseGeometry  # buffered, projected, prepared
    tz: tzinfo
    #: how close to a designated road (or a pass's route) a piece must lie to stay open in this zone
    match_m: float = DEFAULT_MATCH_M
    #: a designated area's roads: (id, name, lon/lat line) for the maps; empty for every other zone
    roads: tuple[tuple[str, str, BaseGeometry], ...] = ()
    #: a designated area's roads in metres (one geometry) and their corridor (buffered by match_m, prepared)
    road_lines: BaseGeometry | None = None
    corridor: BaseGeometry | None = None

    @property
    def designated(self) -> bool:
        """A designated area: only its designated roads are open inside it."""
        return self.corridor is not None

    def closes(self, piece: BaseGeometry, allowed: BaseGeometry | None = None) -> bool:
        """Does this zone close ``piece`` (metres) while it is active and applies?

        ``allowed``: what stays open inside it (default: a designated area's corridor; nothing
        for any other zone). Closed when the piece meets the zone outside what is allowed, so
        touching the zone counts, as it does for every zone.
        """
        allowed = self.corridor if allowed is None else allowed
        if not self.metric.intersects(piece):
            return False
        if allowed is None or not allowed.intersects(piece):
            return True
        if allowed.covers(piece):  # prepared: the common cases, without cutting the piece
            return False
        return bool(self.metric.intersects(piece.difference(allowed)))

    def closing(self, pieces: np.ndarray, allowed: BaseGeometry | None = None) -> np.ndarray:
        """:meth:`closes` for an array of pieces at once (a boolean array)."""
        allowed = self.corridor if allowed is None else allowed
        out = shapely.intersects(self.metric, pieces)
        if allowed is None or not out.any():
            return out
        out &= ~shapely.covers(allowed, pieces)  # wholly on the open roads
        partly = np.flatnonzero(out & shapely.intersects(allowed, pieces))  # partly: what is left decides
        if len(partly):
            out[partly] = shapely.intersects(self.metric, shapely.difference(pieces[partly], allowed))
        return out

    def applies(self, classes: Iterable[str], un_numbers: Iterable[str]) -> bool:
        """Absent ``applies_to``: every hazmat load. Otherwise a listed class (or its whole class) or UN number."""
        if self.classes is None and self.un_numbers is None:
            return True
        return any(covers(self.classes or (), c) for c in classes) or bool(set(un_numbers) & (self.un_numbers or set()))

    def active(self, at: datetime) -> bool:
        if self.windows is None:
            return True
        local = at.astimezone(self.tz)
        return any(window_active(w, local) for w in self.windows)

    def active_at_epoch(self, epoch_s: float) -> bool:
        if self.windows is None:  # most zones: no window, no clock (this runs per edge per route)
            return True
        return _active_minute(self, int(epoch_s // 60))

    def changes_between(self, first_s: float, last_s: float) -> list[float]:
        """The moments from ``first_s`` to ``last_s`` (epoch seconds) at which this zone may turn active or inactive.

        Its windows start and end on whole minutes of the day (an end of 24:00 is the next
        midnight) and its days change at midnight, so its state at any minute is its state at the
        last of these moments before it: testing them finds every change that testing each
        minute would, at a handful of dates instead of one per minute of a trip of hours.
        """
        if self.windows is None:
            return []
        day = datetime.fromtimestamp(first_s, self.tz).date() - timedelta(days=1)
        last_day = datetime.fromtimestamp(last_s, self.tz).date()
        out: set[float] = set()
        while day <= last_day:
            out.update(t for t in _day_marks(self, day) if first_s <= t <= last_s)
            day += timedelta(days=1)
        return sorted(out)

    def ends_within(self, start: datetime, hours: int = 24) -> list[datetime]:
        """The moments within ``hours`` after ``start`` when this zone turns inactive (whole minutes).

        A zone can only turn inactive when one of its windows ends, so only the end times of
        the days around the interval are tried, not every minute of it.
        """
        if self.windows is None:
            return []
        t0 = start.replace(second=0, microsecond=0)
        last = t0 + timedelta(hours=hours)
        first_day = t0.astimezone(self.tz).date() - timedelta(days=1)
        candidates = {
            datetime.combine(first_day + timedelta(days=d), time(), tzinfo=self.tz) + timedelta(minutes=_minutes(w.end))
            for w in self.windows
            for d in range(hours // 24 + 3)
        }  # wall-clock arithmetic: "24:00" is the next midnight
        ends = (c for c in candidates if t0 < c <= last)
        return sorted(
            c.astimezone(start.tzinfo) for c in ends if self.active(c - timedelta(minutes=1)) and not self.active(c)
        )


@lru_cache(maxsize=65536)
def _active_minute(zone: Zone, minute: int) -> bool:
    return zone.active(datetime.fromtimestamp(minute * 60, zone.tz))


@lru_cache(maxsize=4096)
def _day_marks(zone: Zone, day: date) -> tuple[float, ...]:
    """The moments (epoch seconds) of local ``day`` at which a windowed zone may change state: its midnight and its
    windows' starts and ends (wall-clock arithmetic: an end of 24:00 is the next midnight)."""
    assert zone.windows is not None
    marks = {0} | {_minutes(w.start) for w in zone.windows} | {_minutes(w.end) for w in zone.windows}
    midnight = datetime.combine(day, time(), tzinfo=zone.tz)
    return tuple((midnight + timedelta(minutes=m)).timestamp() for m in marks)


#: day spans whose marks :class:`WindowMarks` keeps (a worker's requests depart within a day or two)
SPANS_KEPT = 16


class WindowMarks:
    """Every windowed zone's marks (:meth:`Zone.changes_between`) over a span of days, with the zone's state at
    each, in epoch order: which zones change state during a trip, by one binary search instead of a loop over
    the zones (most have no window; the rest are asked at every restricted request)."""

    def __init__(self, zones: Sequence[Zone]) -> None:
        self.zones = list(zones)
        self.windowed = [z for z, zone in enumerate(self.zones) if zone.windows is not None]
        self._tzs = list(dict.fromkeys(self.zones[z].tz for z in self.windowed))
        self._spans: dict[tuple[tzinfo, date, date], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._minutes: dict[int, np.ndarray] = {}

    def active_at(self, minute: int) -> np.ndarray:
        """Every zone's state at that minute (epoch minutes), by zone index: one array, kept for a few minutes."""
        found = self._minutes.get(minute)
        if found is None:
            found = np.ones(len(self.zones), dtype=bool)
            for z in self.windowed:
                found[z] = _active_minute(self.zones[z], minute)
            if len(self._minutes) >= SPANS_KEPT:
                self._minutes.pop(next(iter(self._minutes)))
            self._minutes[minute] = found
        return found

    def differing(self, first_s: float, last_s: float, state: np.ndarray) -> set[int]:
        """The windowed zones whose state at one of their marks from ``first_s`` to ``last_s`` is not ``state[z]``
        (:meth:`Zone.changes_between`'s moments, tested as a per-zone loop over them would)."""
        out: set[int] = set()
        for tz in self._tzs:
            epochs, owner, active = self._span(tz, first_s, last_s)
            lo, hi = int(np.searchsorted(epochs, first_s, "left")), int(np.searchsorted(epochs, last_s, "right"))
            owners = owner[lo:hi]
            out.update(owners[active[lo:hi] != state[owners]].tolist())
        return out

    def _span(self, tz: tzinfo, first_s: float, last_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The marks of the windowed zones in ``tz`` over the local days the interval touches (and the day before):
        epochs (sorted), zones, states."""
        first = datetime.fromtimestamp(first_s, tz).date() - timedelta(days=1)
        last = datetime.fromtimestamp(last_s, tz).date()
        key = (tz, first, last)
        found = self._spans.get(key)
        if found is None:
            marks = []
            for z in self.windowed:
                zone = self.zones[z]
                if zone.tz != tz:
                    continue
                day = first
                while day <= last:
                    marks += [(t, z, zone.active_at_epoch(t)) for t in _day_marks(zone, day)]
                    day += timedelta(days=1)
            marks.sort()
            found = (
                np.array([t for t, _, _ in marks], dtype=float),
                np.array([z for _, z, _ in marks], dtype=np.int64),
                np.array([a for _, _, a in marks], dtype=bool),
            )
            if len(self._spans) >= SPANS_KEPT:
                self._spans.pop(next(iter(self._spans)))
            self._spans[key] = found
        return found


#: segments per quarter circle of a corridor's round ends (its chords lie within 0.2 % of match_m of the true distance)
CORRIDOR_QUAD_SEGS = 16


def corridor(lines: BaseGeometry, match_m: float) -> BaseGeometry:
    """Everything within ``match_m`` of ``lines`` (metres), prepared: what a designated road or a pass route keeps open."""
    found = shapely.buffer(lines, match_m, quad_segs=CORRIDOR_QUAD_SEGS)
    prepare(found)
    return found


def _zone(feature: ZoneFeature, projection: Projection, tz: tzinfo, roads: Sequence[RoadFeature] = ()) -> Zone:
    props = feature.properties
    lonlat = shape(feature.geometry.model_dump())
    buffer_m = props.buffer_m
    metric = projection.to_metric(lonlat)
    if buffer_m:
        metric = metric.buffer(buffer_m)
    prepare(metric)
    applies = props.applies_to
    road_lines = open_to = None
    if props.kind == "designated_area":
        road_lines = projection.to_metric(shapely.union_all([shape(r.geometry.model_dump()) for r in roads]))
        open_to = corridor(road_lines, props.match)
    return Zone(
        id=props.id,
        name=props.name,
        kind=props.kind,
        classes=frozenset(applies.hazard_classes) if applies and applies.hazard_classes else None,
        un_numbers=frozenset(applies.un_numbers) if applies and applies.un_numbers else None,
        windows=tuple(props.windows) if props.windows is not None else None,
        buffer_m=buffer_m,
        lonlat=lonlat,
        metric=metric,
        tz=tz,
        match_m=props.match,
        roads=tuple((r.properties.id, r.properties.name, shape(r.geometry.model_dump())) for r in roads),
        road_lines=road_lines,
        corridor=open_to,
    )


def load_zones(
    city: City, projection: Projection, features: Sequence[ZoneFeature | RoadFeature] | None = None
) -> list[Zone]:
    """The city's zones (or ``features``, for tests and what-if requests) ready for routing.

    Designated roads join their area; features that do not hold together (an area without
    roads, a road naming no area or leaving it) raise :class:`ConfigError`, as at start-up.
    """
    features = list(city.zones.features if features is None else features)
    problems = designated_problems(features)
    if problems:
        raise ConfigError([f"zones: {p}" for p in problems])
    roads: dict[str, list[RoadFeature]] = {}
    for f in features:
        if isinstance(f, RoadFeature):
            roads.setdefault(f.properties.area, []).append(f)
    return [
        _zone(f, projection, city.tz, roads.get(f.properties.id, ())) for f in features if isinstance(f, ZoneFeature)
    ]


class ZoneIndex:
    """An STRtree over the zones' buffered metric shapes."""

    def __init__(self, zones: Sequence[Zone]) -> None:
        self.zones = list(zones)
        self._tree = STRtree([z.metric for z in self.zones]) if self.zones else None

    def meeting(self, geometries: Sequence[BaseGeometry]) -> list[tuple[int, ...]]:
        """For each metric geometry, the indices of the zones it meets (touching the boundary counts)."""
        out: list[tuple[int, ...]] = [() for _ in geometries]
        if self._tree is None or not geometries:
            return out
        pairs = self._tree.query(list(geometries), predicate="intersects")
        hits: dict[int, list[int]] = {}
        for geom_i, zone_i in zip(pairs[0], pairs[1], strict=True):
            hits.setdefault(int(geom_i), []).append(int(zone_i))
        for geom_i, zone_is in hits.items():
            out[geom_i] = tuple(sorted(zone_is))
        return out
