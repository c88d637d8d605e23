"""City configuration: one pydantic model per file, validated once at start-up.

A folder ``config/cities/<name>/`` holds ``city.yaml``, ``rules.yaml``, ``blacklist.yaml``
and ``zones.geojson``. :func:`load_city` reads all four and collects every problem before
it fails, each as ``file: field.path: message``, so one run shows everything to fix.
Every setting and its default is documented on the models below (``hazmat config
validate --explain`` prints them).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from shapely.geometry import shape

from hazmat.errors import ConfigError
from hazmat.events import (
    PROVINCES,
    HazardClass,
    IdNumber,
    Pass,
    Plate,
    TrailerPlate,
    UnNumber,
    errors_of,
    format_loc,
)
from hazmat.paths import data_root, is_database_url
from hazmat.rules import Blacklist, RuleSettings, rule_ids
from hazmat.rules.context import DEFAULT_HIGH_HAZARD, DEFAULT_TOXIC
from hazmat.zone_kinds import DEFAULT_MATCH_M, ZoneKindName

# the bundled cities: package data of ``hazmat.config`` (``config/cities/`` in the checkout)
CITIES_DIR = Path(str(resources.files("hazmat.config").joinpath("cities")))
DEFAULT_CITY = "datong"


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: keys that were renamed: old name -> new name (an old key gets a message naming both).
    RENAMED: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for old, new in cls.RENAMED.items():
                if old in data:
                    msg = f"'{old}' was renamed to '{new}'; rename the key in this file"
                    raise ValueError(msg)
        return data


# --- city.yaml --------------------------------------------------------------------------


class GraphSource(BaseModel):
    """Where the road graph comes from: a local OSM extract (offline) or a place name (online)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["file", "place", "bbox"] = "file"
    file: str | None = Field(
        None, description="OSM XML (.osm, .osm.bz2) or PBF (.osm.pbf, a province) path, relative to the city folder"
    )
    place: str | None = Field(None, description="a place name osmnx can geocode, e.g. '大同市, 山西省, 中国'")
    bbox: tuple[float, float, float, float] | None = Field(None, description="west, south, east, north")
    attribution: str = "© OpenStreetMap contributors"

    @model_validator(mode="after")
    def _source_given(self) -> GraphSource:
        needed = {"file": self.file, "place": self.place, "bbox": self.bbox}[self.source]
        if needed is None:
            msg = f"source is '{self.source}' but '{self.source}' is not set; give it, or change source"
            raise ValueError(msg)
        return self


class SpeedCaps(BaseModel):
    """Hazmat speed limits in km/h (travel times and the ``speeding`` alert use them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    motorway: float = Field(80, gt=0, le=130, description="motorways and expressways")
    default: float = Field(60, gt=0, le=130, description="every other road")


class CityFile(_File):
    """``city.yaml``: the city's identity and its routing and monitoring settings."""

    RENAMED: ClassVar[dict[str, str]] = {
        "tz": "timezone",
        "province_char": "province",
        "corridor": "corridor_m",
    }

    name: str = Field(description="the city's name, e.g. 大同")
    name_en: str = Field(description="the city's name in English, e.g. Datong")
    province: str = Field(description="the province character of local plates, e.g. 晋")
    timezone: str = Field("Asia/Shanghai", description="IANA zone that dates and time windows are read in")
    graph: GraphSource = Field(description="road graph source")
    speed_caps_kmh: SpeedCaps = SpeedCaps()
    untagged_tunnel_policy: Literal["forbidden", "allowed"] = Field(
        "forbidden",
        description="what a tunnel=yes without a hazmat tunnel category means for hazmat loads",
    )
    derive_water_sources: bool = Field(True, description="turn OSM reservoirs / protect_class=12 into zones")
    water_source_buffer_m: float = Field(100, ge=0, le=5000, description="buffer around OSM water sources")
    max_snap_m: float = Field(
        500,
        gt=0,
        le=5000,
        description="a route end farther than this from every road the load may use is answered no_road_nearby",
    )
    corridor_m: float = Field(200, gt=0, le=5000, description="route-deviation corridor width")
    deviation_pings: int = Field(2, ge=1, le=100, description="consecutive off-corridor pings before an alert")
    gps_tolerance_m: float = Field(
        30,
        ge=0,
        le=1000,
        description="monitoring: inside a designated area, a ping farther than its match_m plus this from every "
        "designated road (and pass route) is off them",
    )
    flow_overdue_h: float = Field(
        24,
        gt=0,
        le=24 * 365 * 10,
        description="hours after loading when an undelivered high-hazard flow raises flow_overdue",
    )
    flow_arrival_radius_m: float = Field(
        300, gt=0, le=5000, description="a vehicle stopped this close to its routed destination has delivered"
    )
    flow_track_every_s: float = Field(60, ge=0, le=3600, description="at most one flow track point per this many s")
    archive_path: str | None = Field(None, description="SQLite archive file; default under the user's data dir")
    map_tiles_url: str | None = Field(
        None,
        description="XYZ tile URL ({z}, {x}, {y}) for the web page's base map; unset: the page draws the road network",
    )
    map_tiles_attribution: str = Field("© OpenStreetMap contributors", description="credit shown under the tiles")

    @field_validator("map_tiles_url")
    @classmethod
    def _tile_template(cls, value: str | None) -> str | None:
        if value is not None and not all(part in value for part in ("{z}", "{x}", "{y}")):
            msg = "a tile URL template needs {z}, {x} and {y}, e.g. https://tile.example.org/{z}/{x}/{y}.png"
            raise ValueError(msg)
        return value

    @field_validator("province")
    @classmethod
    def _province(cls, value: str) -> str:
        if len(value) != 1 or value not in PROVINCES:
            msg = f"'{value}' is not a province character; use one of {PROVINCES}"
            raise ValueError(msg)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"unknown time zone '{value}'; use an IANA name such as Asia/Shanghai"
            raise ValueError(msg) from None
        return value


# --- rules.yaml -------------------------------------------------------------------------

TunnelCode = Literal["B", "C", "D", "E"]


class TunnelCodes(BaseModel):
    """ADR tunnel restriction codes: a load with code X may not use tunnels of category X or above."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by_un: dict[UnNumber, TunnelCode] = Field(default_factory=dict)
    by_class: dict[HazardClass, TunnelCode] = Field(default_factory=dict)
    default: TunnelCode = "D"


class RulesFile(_File):
    """``rules.yaml``: severities, tolerances and the chemical lists of the ruleset."""

    RENAMED: ClassVar[dict[str, str]] = {
        "tolerance": "waybill_tolerance",
        "toxic": "toxic_un_numbers",
    }

    ruleset_version: str = Field("2026.11.1", min_length=1)
    severities: dict[str, Literal["refuse", "warn", "off"]] = Field(
        default_factory=dict,
        description="override a rule's default severity, e.g. {OOP-001: refuse}",
    )
    waybill_tolerance: float = Field(0.02, ge=0, le=0.5, description="DOC-003: allowed waybill/load difference")
    toxic_un_numbers: list[UnNumber] = Field(default_factory=lambda: sorted(DEFAULT_TOXIC))
    high_hazard_un_numbers: list[UnNumber] = Field(default_factory=lambda: sorted(DEFAULT_HIGH_HAZARD))
    tunnel_codes: TunnelCodes = TunnelCodes()

    @field_validator("severities")
    @classmethod
    def _known_rules(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(rule_ids()))
        if unknown:
            msg = f"unknown rule id(s) {', '.join(unknown)}; known: {', '.join(rule_ids())}"
            raise ValueError(msg)
        return value


# --- blacklist.yaml ---------------------------------------------------------------------


class _Listed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str = Field(min_length=1)
    listed_on: date


class ListedCarrier(_Listed):
    license_number: str = Field(min_length=1)


class ListedPlate(_Listed):
    plate: Plate | TrailerPlate


class ListedPerson(_Listed):
    id_number: IdNumber


class BlacklistFile(_File):
    """``blacklist.yaml``: carriers, plates and persons that may not load (rules.md)."""

    carriers: list[ListedCarrier] = Field(default_factory=list)
    plates: list[ListedPlate] = Field(default_factory=list)
    persons: list[ListedPerson] = Field(default_factory=list)

    def to_blacklist(self) -> Blacklist:
        return Blacklist(
            carriers={c.license_number: c.reason for c in self.carriers},
            plates={p.plate: p.reason for p in self.plates},
            persons={p.id_number: p.reason for p in self.persons},
        )


# --- zones.geojson ----------------------------------------------------------------------

Coordinate = tuple[Annotated[float, Field(ge=-180, le=180)], Annotated[float, Field(ge=-90, le=90)]]


def _check_ring(ring: list[Coordinate]) -> list[Coordinate]:
    if len(ring) < 4:
        msg = f"a ring needs at least 4 positions (first = last), got {len(ring)}"
        raise ValueError(msg)
    if ring[0] != ring[-1]:
        msg = f"ring does not close: first position {list(ring[0])} != last {list(ring[-1])}"
        raise ValueError(msg)
    return ring


Ring = Annotated[list[Coordinate], Field(min_length=1)]


class Polygon(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["Polygon"]
    coordinates: list[Ring] = Field(min_length=1)

    @field_validator("coordinates")
    @classmethod
    def _closed(cls, rings: list[list[Coordinate]]) -> list[list[Coordinate]]:
        return [_check_ring(r) for r in rings]


class MultiPolygon(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["MultiPolygon"]
    coordinates: list[Annotated[list[Ring], Field(min_length=1)]] = Field(min_length=1)

    @field_validator("coordinates")
    @classmethod
    def _closed(cls, polys: list[list[list[Coordinate]]]) -> list[list[list[Coordinate]]]:
        return [[_check_ring(r) for r in poly] for poly in polys]


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ALL_DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HHMM = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", examples=["07:00"])]


class Window(BaseModel):
    """A weekly time window in city local time; ``end`` ≤ ``start`` crosses midnight."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: list[Day] = Field(default_factory=lambda: list(ALL_DAYS), min_length=1)
    start: HHMM
    end: HHMM


class AppliesTo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hazard_classes: list[HazardClass] = Field(default_factory=list)
    un_numbers: list[UnNumber] = Field(default_factory=list)


class ZoneProperties(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = ""
    kind: ZoneKindName
    applies_to: AppliesTo | None = None
    windows: list[Window] | None = None
    buffer_m: float = Field(0, ge=0, le=5000)
    match_m: float | None = Field(
        None,
        gt=0,
        le=500,
        description=(
            "designated_area: a road inside it is usable when it lies within this many metres of a designated "
            f"road (or of a pass's route); other zones: how close to a pass's route it opens; unset: {DEFAULT_MATCH_M:g}"
        ),
    )
    source: str | None = None

    @model_validator(mode="after")
    def _area_takes_no_buffer(self) -> ZoneProperties:
        if self.kind == "designated_area" and self.buffer_m:
            msg = "a designated_area takes no buffer_m: its roads are matched within match_m instead"
            raise ValueError(msg)
        return self

    @property
    def match(self) -> float:
        """``match_m``, or the default."""
        return DEFAULT_MATCH_M if self.match_m is None else self.match_m


_NOT_A_FEATURE = object()


def _geometry_type_and_id(data: Any) -> tuple[Any, Any]:
    """A raw feature's geometry type and ``properties.id``, read before validation so that a
    wrong geometry is reported by zone id; ``_NOT_A_FEATURE`` when ``data`` is not an object."""
    if not isinstance(data, dict):
        return _NOT_A_FEATURE, None
    geometry, props = data.get("geometry"), data.get("properties")
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    return kind, props.get("id") if isinstance(props, dict) else None


class ZoneFeature(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["Feature"]
    id: str | int | None = None
    properties: ZoneProperties
    geometry: Annotated[Polygon | MultiPolygon, Field(discriminator="type")]

    @model_validator(mode="before")
    @classmethod
    def _polygonal(cls, data: Any) -> Any:
        kind, name = _geometry_type_and_id(data)
        if kind is not _NOT_A_FEATURE and kind not in ("Polygon", "MultiPolygon"):
            msg = (
                f"zone {name!r}: geometry type {kind!r} is not allowed; zones must be Polygon or MultiPolygon "
                "(the only lines are features of kind designated_road)"
            )
            raise ValueError(msg)
        return data


class LineString(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["LineString"]
    coordinates: list[Coordinate] = Field(min_length=2)


class MultiLineString(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["MultiLineString"]
    coordinates: list[Annotated[list[Coordinate], Field(min_length=2)]] = Field(min_length=1)


class RoadProperties(BaseModel):
    """A designated road (规定路线) of a designated area: where hazmat loads may drive inside it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = ""
    kind: Literal["designated_road"]
    area: str = Field(min_length=1, max_length=64, description="the id of the designated_area it belongs to")
    source: str | None = None


class RoadFeature(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["Feature"]
    id: str | int | None = None
    properties: RoadProperties
    geometry: Annotated[LineString | MultiLineString, Field(discriminator="type")]

    @model_validator(mode="before")
    @classmethod
    def _linear(cls, data: Any) -> Any:
        kind, name = _geometry_type_and_id(data)
        if kind is not _NOT_A_FEATURE and kind not in ("LineString", "MultiLineString"):
            msg = (
                f"designated road {name!r}: geometry type {kind!r} is not allowed; "
                "a designated road is a LineString or MultiLineString"
            )
            raise ValueError(msg)
        return data


#: the tags of the two feature models (pydantic puts the tag in an error's location; load_city drops it)
_FEATURE_TAGS = ("zone", "designated_road")


def _feature_tag(value: Any) -> str:
    """A feature of kind designated_road is a road; every other feature is a zone."""
    if isinstance(value, RoadFeature):
        return "designated_road"
    if isinstance(value, dict):
        props = value.get("properties")
        if isinstance(props, dict) and props.get("kind") == "designated_road":
            return "designated_road"
    return "zone"


Feature = Annotated[
    Annotated[ZoneFeature, Tag("zone")] | Annotated[RoadFeature, Tag("designated_road")],
    Discriminator(_feature_tag),
]


class ZonesFile(BaseModel):
    """``zones.geojson``: restricted areas, water-source areas, closures, designated areas and their roads
    (routing.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["FeatureCollection"]
    name: str | None = None
    features: list[Feature]

    @model_validator(mode="after")
    def _unique_ids(self) -> ZonesFile:
        seen: set[str] = set()
        for feature in self.features:
            if feature.properties.id in seen:
                msg = f"zone id '{feature.properties.id}' is used twice; ids must be unique"
                raise ValueError(msg)
            seen.add(feature.properties.id)
        return self

    @property
    def zones(self) -> list[ZoneFeature]:
        """The zones (polygons), in file order."""
        return [f for f in self.features if isinstance(f, ZoneFeature)]

    @property
    def roads(self) -> list[RoadFeature]:
        """The designated roads (lines), in file order."""
        return [f for f in self.features if isinstance(f, RoadFeature)]


#: a designated road may stray this far (degrees, ~1 cm) outside its area: digitising, not design
_ROAD_SLACK_DEG = 1e-7


def designated_problems(features: Sequence[ZoneFeature | RoadFeature]) -> list[str]:
    """What ties designated areas and roads together, checked once at start-up (routing.md item 5).

    Every designated area has at least one designated road; every road names a designated
    area of the same file and lies inside it. Each problem names the feature (index and id)
    and the reason, as ``features[3]: designated road 'x': …``.
    """
    areas = {f.properties.id: (i, f) for i, f in enumerate(features) if isinstance(f, ZoneFeature)}
    served: set[str] = set()
    problems: list[str] = []
    for i, feature in enumerate(features):
        if not isinstance(feature, RoadFeature):
            continue
        props = feature.properties
        where = f"features[{i}].properties.area: designated road '{props.id}'"
        found = areas.get(props.area)
        if found is None:
            problems.append(f"{where}: names no zone '{props.area}'; give the id of a designated_area in this file")
            continue
        area = found[1]
        if area.properties.kind != "designated_area":
            problems.append(
                f"{where}: names '{props.area}', a {area.properties.kind} zone; a road belongs to a designated_area"
            )
            continue
        served.add(props.area)
        outline = shape(area.geometry.model_dump()).buffer(_ROAD_SLACK_DEG)
        line = shape(feature.geometry.model_dump())
        if not outline.covers(line):
            outside = line.difference(outline)
            lat = math.radians(line.centroid.y)
            metres = outside.length * 111_320 * math.sqrt((1 + math.cos(lat) ** 2) / 2)  # rough, for the message
            problems.append(
                f"features[{i}].geometry: designated road '{props.id}' leaves its area '{props.area}' "
                f"(about {metres:.0f} m of it lie outside); a designated road lies inside its area"
            )
    for area_id, (i, area) in areas.items():
        if area.properties.kind == "designated_area" and area_id not in served:
            problems.append(
                f"features[{i}]: designated area '{area_id}' has no designated road; add features of kind "
                f'designated_road with "area": "{area_id}" (without one, every road inside it would be closed)'
            )
    return problems


# --- passes.yaml ------------------------------------------------------------------------


class PassesFile(BaseModel):
    """``passes.yaml`` (optional): police passes for ``hazmat route`` without a broker (routing.md item 6).

    Each pass is the ``Pass`` event (``hazmat schema pass``); expired passes may stay and are ignored.
    Validated from JSON text (YAML's timestamps turned back into RFC 3339), as events are, so
    no before-validator here: one would hand the strict events Python strings.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    passes: list[Pass] = Field(default_factory=list, description="the passes, each as `hazmat schema pass`")

    @model_validator(mode="after")
    def _unique_ids(self) -> PassesFile:
        seen: set[str] = set()
        for granted in self.passes:
            if granted.pass_id in seen:
                msg = f"pass id '{granted.pass_id}' is used twice; ids must be unique"
                raise ValueError(msg)
            seen.add(granted.pass_id)
        return self


def _as_json(value: Any) -> Any:
    """YAML's dates and timestamps back to the RFC 3339 text the events are validated from."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    msg = f"{type(value).__name__} is not JSON"
    raise TypeError(msg)


def _read_passes(folder: Path, zones: ZonesFile | None) -> tuple[PassesFile, list[str]]:
    """The folder's ``passes.yaml`` (none: no passes) and its problems, each naming the pass."""
    from hazmat.passes import pass_problems

    path = folder / "passes.yaml"
    if not path.is_file():
        return PassesFile(), []
    data, problem = read_config_file(path)
    if problem:
        return PassesFile(), [f"{path}: {problem}"]
    raw = data.get("passes") if isinstance(data, dict) else None
    ids = [p.get("pass_id") if isinstance(p, dict) else None for p in raw] if isinstance(raw, list) else []

    def named(loc: list[str | int]) -> str:
        where = format_loc(loc)
        if len(loc) >= 2 and loc[0] == "passes" and isinstance(loc[1], int) and loc[1] < len(ids) and ids[loc[1]]:
            where += f" (pass '{ids[loc[1]]}')"
        return where

    try:
        parsed = PassesFile.model_validate_json(json.dumps(data, default=_as_json, ensure_ascii=False))
    except (ValidationError, TypeError) as exc:
        if isinstance(exc, TypeError):
            return PassesFile(), [f"{path}: {exc}"]
        return PassesFile(), [
            f"{path}: {named(err['loc'])}: {err['msg'].removeprefix('Value error, ')}" for err in errors_of(exc)
        ]
    problems = []
    if zones is not None:
        for i, granted in enumerate(parsed.passes):
            for err in pass_problems(granted, zones.features):
                problems.append(f"{path}: {named(['passes', i, *err['loc']])}: {err['msg']}")
    return parsed, problems


# --- loading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class City:
    """A validated city configuration folder."""

    folder: Path
    settings: CityFile  # city.yaml
    rules: RulesFile
    blacklist: BlacklistFile
    zones: ZonesFile
    #: ``passes.yaml``: police passes for ``hazmat route`` without a broker (workers follow ``hazmat.passes``)
    passes: PassesFile = field(default_factory=PassesFile)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    def rule_settings(self) -> RuleSettings:
        """The pure values the inspection rules read."""
        return RuleSettings(
            province=self.settings.province,
            timezone=self.tz,
            waybill_tolerance=self.rules.waybill_tolerance,
            toxic_un_numbers=frozenset(self.rules.toxic_un_numbers),
            high_hazard_un_numbers=frozenset(self.rules.high_hazard_un_numbers),
            severities=dict(self.rules.severities),
            blacklist=self.blacklist.to_blacklist(),
            ruleset_version=self.rules.ruleset_version,
        )

    def archive_path(self) -> Path | str:
        """``HAZMAT_ARCHIVE`` (a path or a ``postgresql://`` URL) if set, else ``archive_path`` from
        city.yaml, else a file in the user's data dir."""
        if env := os.environ.get("HAZMAT_ARCHIVE"):
            return env if is_database_url(env) else Path(env).expanduser()
        if self.settings.archive_path:
            return (self.folder / Path(self.settings.archive_path).expanduser()).resolve()
        if self.folder.parent == CITIES_DIR:  # a bundled city: its own name
            return data_root() / f"archive-{self.folder.name}.sqlite"
        # an operator's folder: its name and where it is (two folders named "city" keep two archives)
        where = hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:8]
        return data_root() / f"archive-{self.folder.name}-{where}.sqlite"


_FILES: dict[str, type[BaseModel]] = {
    "city.yaml": CityFile,
    "rules.yaml": RulesFile,
    "blacklist.yaml": BlacklistFile,
    "zones.geojson": ZonesFile,
}


def resolve_city_dir(name_or_path: str | os.PathLike[str] | None = None) -> Path:
    """A folder path, or the name of a bundled city; ``HAZMAT_CITY`` or the default otherwise."""
    value = name_or_path or os.environ.get("HAZMAT_CITY") or DEFAULT_CITY
    path = Path(value).expanduser()
    if path.is_dir():
        return path.resolve()
    bundled = CITIES_DIR / str(value)
    if bundled.is_dir():
        return bundled
    known = ", ".join(sorted(p.name for p in CITIES_DIR.iterdir() if p.is_dir()))
    msg = f"no city configuration folder '{value}'; give a folder path or one of the bundled cities: {known}"
    raise ConfigError([msg])


def read_config_file(path: Path) -> tuple[Any, str | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, "file is missing"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot be read: {exc}"
    try:
        if path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
            return ({} if data is None else data), None
        return json.loads(text), None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return None, f"{where}not valid YAML: {problem}"
    except json.JSONDecodeError as exc:
        return None, f"line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}"


def _untagged(loc: list[str | int]) -> list[str | int]:
    """``features[3].zone.properties…`` → ``features[3].properties…``: the feature's model is no field of the file."""
    return [
        part
        for k, part in enumerate(loc)
        if not (part in _FEATURE_TAGS and k >= 2 and loc[k - 2] == "features" and isinstance(loc[k - 1], int))
    ]


def load_city(name_or_path: str | os.PathLike[str] | None = None) -> City:
    """Read and validate a city configuration folder; raise :class:`ConfigError` listing every problem."""
    folder = resolve_city_dir(name_or_path)
    problems: list[str] = []
    parsed: dict[str, BaseModel] = {}
    for filename, model in _FILES.items():
        data, problem = read_config_file(folder / filename)
        if problem:
            problems.append(f"{folder / filename}: {problem}")
            continue
        try:
            parsed[filename] = model.model_validate(data)
        except ValidationError as exc:
            for err in errors_of(exc):
                msg = err["msg"].removeprefix("Value error, ")
                problems.append(f"{folder / filename}: {format_loc(_untagged(err['loc']))}: {msg}")
    zones = parsed.get("zones.geojson")
    if isinstance(zones, ZonesFile):
        problems += [f"{folder / 'zones.geojson'}: {p}" for p in designated_problems(zones.features)]
    passes, passes_problems = _read_passes(folder, zones if isinstance(zones, ZonesFile) else None)
    problems += passes_problems
    if problems:
        raise ConfigError(problems)
    return City(
        folder=folder,
        settings=parsed["city.yaml"],  # type: ignore[arg-type]
        rules=parsed["rules.yaml"],  # type: ignore[arg-type]
        blacklist=parsed["blacklist.yaml"],  # type: ignore[arg-type]
        zones=parsed["zones.geojson"],  # type: ignore[arg-type]
        passes=passes,
    )
