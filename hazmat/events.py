"""The JSON events of ``shared/spec/events.md``: one strict pydantic model per event type.

Every model forbids unknown fields (a typo must not pass silently), refuses timestamps
without an offset and validates in strict mode, so ``"24000"`` is not a quantity. Raw
input is validated with :func:`decode`, which parses JSON itself: that is how dates and
timestamps arrive as RFC 3339 strings while strict mode stays on.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from hazmat.routing.restrictions import KINDS as ROAD_RESTRICTION_KINDS
from hazmat.zone_kinds import ZONE_KINDS

SCHEMA_VERSION = 1

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = re.compile(rf"^[{PROVINCES}][A-Z][A-Z0-9]{{5,6}}$")
_TRAILER = re.compile(rf"^[{PROVINCES}][A-Z][A-Z0-9]{{4}}挂$")
_UN = re.compile(r"^UN\d{4}$")
_CLASS = re.compile(r"^[1-9](\.[1-9])?$")
_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
_EVENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


_HINTS: dict[str, tuple[str, str]] = {}


def _pattern(pattern: re.Pattern[str], kind: str, hint: str, example: str, max_length: int) -> Any:
    """A string type checked by pydantic's (Rust) regex; its error message is ours (see :func:`_errors_of`)."""
    _HINTS[pattern.pattern] = (kind, hint)
    return Annotated[str, Field(pattern=pattern.pattern, max_length=max_length, examples=[example])]


Text = Annotated[str, Field(min_length=1, max_length=200)]
Plate = _pattern(
    _PLATE, "plate", "province character + letter + 5 (or 6, new-energy) letters/digits, e.g. 晋B12345", "晋B12345", 16
)
TrailerPlate = _pattern(
    _TRAILER, "trailer plate", "province character + letter + 4 letters/digits + 挂, e.g. 晋B6789挂", "晋B6789挂", 16
)
UnNumber = _pattern(_UN, "UN number", "UN + 4 digits, e.g. UN1005", "UN1005", 6)
HazardClass = _pattern(_CLASS, "hazard class", 'a class "1"…"9" or a division such as "2.3"', "2.3", 3)
IdNumber = _pattern(_ID_NUMBER, "id number", "18 characters: 17 digits and a digit or X", "140202198001011234", 18)
EventId = _pattern(_EVENT_ID, "event id", "1–128 of letters, digits, '.', '_', ':', '-'", "c0a8-0001", 128)
Kilograms = Annotated[float, Field(gt=0, le=1_000_000)]
Lon = Annotated[float, Field(ge=-180, le=180)]
Lat = Annotated[float, Field(ge=-90, le=90)]


class Strict(BaseModel):
    """Base of every event and sub-object: strict types, no unknown fields, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


# --- check-in -------------------------------------------------------------------------


class TransportPermit(Strict):
    number: Text
    valid_until: date
    scope: list[HazardClass] = Field(min_length=1, max_length=20)


class Vehicle(Strict):
    plate: Plate
    trailer_plate: TrailerPlate | None = None
    transport_permit: TransportPermit | None = None
    annual_inspection_valid_until: date | None = None
    rated_load_kg: Kilograms
    gps_terminal_online: bool | None = None


class Carrier(Strict):
    name: Text
    license_number: Text
    license_valid_until: date


class Certificate(Strict):
    number: Text
    kind: Literal["dg_driver", "dg_escort"]
    valid_until: date


class Driver(Strict):
    name: Text
    id_number: IdNumber
    certificate: Certificate | None = None


class Escort(Driver):
    pass


class Tank(Strict):
    number: Text
    inspection_valid_until: date
    approved_un_numbers: list[UnNumber] = Field(max_length=200)
    capacity_kg: Kilograms


class LoadItem(Strict):
    un_number: UnNumber
    name: Text
    hazard_class: HazardClass
    quantity_kg: Kilograms


class WaybillItem(Strict):
    un_number: UnNumber
    quantity_kg: Kilograms


class Waybill(Strict):
    number: Text
    plate: Plate
    driver_id_number: IdNumber
    escort_id_number: IdNumber | None = None
    items: list[WaybillItem] = Field(min_length=1, max_length=50)
    consignor: Text
    consignee: Text | None = None
    destination: Text | None = None


class ToxicPass(Strict):
    number: Text
    valid_until: date
    un_numbers: list[UnNumber] = Field(min_length=1, max_length=50)
    quantity_kg: Kilograms


class ProvinceFiling(Strict):
    number: Text
    valid_until: date


class Documents(Strict):
    waybill: Waybill | None = None
    sds_and_label: bool | None = None
    toxic_pass: ToxicPass | None = None
    out_of_province_filing: ProvinceFiling | None = None


class CheckIn(Strict):
    """A loading site's report of a vehicle, its crew, tank, papers and load (装货前查验登记)."""

    schema_version: Literal[1]
    event_id: EventId
    site_id: Text
    occurred_at: AwareDatetime
    vehicle: Vehicle
    carrier: Carrier | None = None
    driver: Driver
    escort: Escort | None = None
    tank: Tank | None = None
    load: list[LoadItem] = Field(min_length=1, max_length=50)
    documents: Documents


# --- verdict --------------------------------------------------------------------------


class Finding(Strict):
    rule_id: str
    severity: Literal["refuse", "warn"]
    field: str
    message_zh: str
    message_en: str
    basis: str


class Verdict(Strict):
    """The answer to a check-in: ``load`` or ``refuse``, with the findings sorted by rule id."""

    schema_version: Literal[1] = 1
    verdict_id: str
    checkin_event_id: EventId
    plate: Plate
    decided_at: AwareDatetime
    verdict: Literal["load", "refuse"]
    findings: list[Finding]
    ruleset_version: str


# --- routing --------------------------------------------------------------------------


class LonLat(Strict):
    lon: Lon
    lat: Lat


class RouteLoadItem(Strict):
    un_number: UnNumber
    hazard_class: HazardClass
    quantity_kg: Kilograms


class RouteRequest(Strict):
    """A dispatcher's request for a permitted route for one load at one departure time."""

    schema_version: Literal[1]
    request_id: EventId
    plate: Plate
    load: list[RouteLoadItem] = Field(min_length=1, max_length=50)
    origin: LonLat
    destination: LonLat
    depart_at: AwareDatetime
    optimize: Literal["time", "distance"] = "time"

    @staticmethod
    def body(
        request_id: str,
        plate: str,
        load: list[dict[str, Any]],
        origin: tuple[float, float],
        destination: tuple[float, float],
        depart_at: str,
        optimize: str = "time",
    ) -> dict[str, Any]:
        """The JSON body of a request (what a dispatcher sends), from plain values; validate it with ``decode``."""
        return {
            "schema_version": 1,
            "request_id": request_id,
            "plate": plate,
            "load": [{k: item[k] for k in ("un_number", "hazard_class", "quantity_kg")} for item in load],
            "origin": {"lon": origin[0], "lat": origin[1]},
            "destination": {"lon": destination[0], "lat": destination[1]},
            "depart_at": depart_at,
            "optimize": optimize,
        }


class LineString(Strict):
    type: Literal["LineString"] = "LineString"
    coordinates: list[tuple[float, float]]


class Avoided(Strict):
    """One zone or road restriction that changed the route (or blocks every route)."""

    zone_id: str | None = None
    kind: Literal[(*ZONE_KINDS, *ROAD_RESTRICTION_KINDS)]  # type: ignore[valid-type]  # declared once, read here
    reason_zh: str
    reason_en: str


class Route(Strict):
    schema_version: Literal[1] = 1
    route_id: str
    request_id: EventId
    plate: Plate
    status: Literal["ok", "no_permitted_route", "no_road_nearby", "outside_map"]
    length_m: float | None = None
    duration_s: float | None = None
    geometry: LineString | None = None
    avoided: list[Avoided] = Field(default_factory=list)
    arrive_at: AwareDatetime | None = None
    reason_zh: str | None = None
    reason_en: str | None = None
    blocked_by: list[Avoided] = Field(default_factory=list)
    earliest_departure_at: AwareDatetime | None = None
    #: how far each end was moved onto the nearest road the load may use (null when not snapped)
    origin_snap_m: float | None = None
    destination_snap_m: float | None = None
    #: the police passes (routing.md item 6) the route relies on: the zones they open that it uses
    passes_used: list[str] = Field(default_factory=list)


# --- monitoring -----------------------------------------------------------------------


class Position(Strict):
    schema_version: Literal[1]
    event_id: EventId
    plate: Plate
    at: AwareDatetime
    lon: Lon
    lat: Lat
    speed_kmh: Annotated[float, Field(ge=0, le=300)]


class Delivery(Strict):
    """The consignee confirms a delivery (``hazmat.deliveries``, key: plate): closes the plate's open flows.

    With ``checkin_event_id`` only the flows of that load; without, every open flow of the plate.
    """

    schema_version: Literal[1]
    event_id: EventId
    plate: Plate
    at: AwareDatetime
    site_id: Text
    checkin_event_id: EventId | None = None


AlertKind = Literal[
    "checkin_refused",
    "zone_entry",
    "route_deviation",
    "unchecked_movement",
    "out_of_province",
    "speeding",
    "invalid_event",
    "flow_overdue",
]


AlertSeverity = Literal["high", "medium", "low"]


class Alert(Strict):
    """Something traffic police must see now; ``alert_id`` derives from the source event."""

    schema_version: Literal[1] = 1
    alert_id: str
    kind: AlertKind
    severity: AlertSeverity
    plate: str | None
    at: AwareDatetime
    location: LonLat | None = None
    rule_ids: list[str] = Field(default_factory=list)
    zone_id: str | None = None
    source_event_id: str | None = None
    state: Literal["raised", "cleared"] = "raised"
    message_zh: str
    message_en: str


class ErrorDetail(Strict):
    loc: list[str | int]
    msg: str


class DeadLetter(Strict):
    """An input that is not a valid event, kept with the reason and the original bytes."""

    schema_version: Literal[1] = 1
    topic: str
    partition: int
    offset: int
    received_at: AwareDatetime
    error: str
    errors: list[ErrorDetail]
    raw: str
    raw_encoding: Literal["utf-8", "base64"] = "utf-8"


# --- blacklist updates ------------------------------------------------------------------


class BlacklistEntry(Strict):
    """A run-time blacklist addition on the compacted ``hazmat.blacklist`` topic (key: ``value``).

    A null message value (a tombstone) with that key removes the entry again.
    """

    schema_version: Literal[1]
    list: Literal["carriers", "plates", "persons"]
    value: Text
    reason: Text
    listed_on: date


# --- police passes ----------------------------------------------------------------------

ZoneId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$", examples=["rs-daoli-nangang"])]


class PassRoute(Strict):
    """The road a pass allows, as a GeoJSON LineString in lon/lat: it opens its zones only along it."""

    type: Literal["LineString"]
    coordinates: list[tuple[Lon, Lat]] = Field(min_length=2, max_length=10_000)


class Pass(Strict):
    """A police pass (通行证, routing.md item 6) on the compacted ``hazmat.passes`` topic (key: ``pass_id``).

    It opens ``zone_ids`` (restricted areas, closures, designated areas; never a water source)
    to the vehicle ``plate`` from ``valid_from`` until ``valid_until``: wholly, or, with a
    ``route``, only along it. A null message value (a tombstone) with its id revokes it.
    """

    schema_version: Literal[1]
    pass_id: EventId
    plate: Plate
    zone_ids: list[ZoneId] = Field(min_length=1, max_length=50)
    valid_from: AwareDatetime
    valid_until: AwareDatetime
    route: PassRoute | None = None
    issued_by: Text
    reason: Text

    @field_validator("zone_ids")
    @classmethod
    def _each_zone_once(cls, value: list[str]) -> list[str]:
        twice = sorted({z for z in value if value.count(z) > 1})
        if twice:
            msg = f"zone {', '.join(twice)} named twice"
            raise ValueError(msg)
        return value

    @field_validator("valid_until")
    @classmethod
    def _after_valid_from(cls, value: Any, info: ValidationInfo) -> Any:
        start = info.data.get("valid_from")
        if start is not None and value <= start:
            msg = f"valid_until {value.isoformat()} is not after valid_from {start.isoformat()}"
            raise ValueError(msg)
        return value


# --- decoding -------------------------------------------------------------------------

EVENT_MODELS: dict[str, type[Strict]] = {
    "checkin": CheckIn,
    "verdict": Verdict,
    "route-request": RouteRequest,
    "route": Route,
    "position": Position,
    "delivery": Delivery,
    "alert": Alert,
    "dead-letter": DeadLetter,
    "blacklist-entry": BlacklistEntry,
    "pass": Pass,
}

M = TypeVar("M", bound=Strict)


class InvalidEvent(ValueError):  # noqa: N818  (the spec calls it an invalid event)
    """Raw input that is not a valid event; ``errors`` lists ``{"loc", "msg"}`` per problem."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__(summarize(errors))


def format_loc(loc: tuple[str | int, ...] | list[str | int]) -> str:
    """Turn pydantic's ``("load", 0, "un_number")`` into ``load[0].un_number``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(event)"


def summarize(errors: list[dict[str, Any]]) -> str:
    """One line naming every failing field, for logs and the dead letter's ``error``."""
    return "; ".join(f"{format_loc(e['loc'])}: {e['msg']}" for e in errors)


def _message(error: Any) -> str:
    if error["type"] == "string_pattern_mismatch":
        hint = _HINTS.get(str(error.get("ctx", {}).get("pattern")))
        if hint:
            return f"not a valid {hint[0]}: {hint[1]}"
    return str(error["msg"])


def errors_of(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors as ``{"loc", "msg"}`` dicts, with our wording for pattern mismatches."""
    return [{"loc": list(e["loc"]), "msg": _message(e)} for e in exc.errors(include_url=False)]


def decode(model: type[M], raw: bytes | str) -> M:
    """Validate raw JSON into ``model``; raise :class:`InvalidEvent` with field-level errors.

    Bytes that are not UTF-8 and text that is not JSON are reported the same way (with an
    empty ``loc``), so every caller has one error path for every kind of bad input.
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidEvent([{"loc": [], "msg": f"not UTF-8: {exc.reason} at byte {exc.start}"}]) from None
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidEvent(errors_of(exc)) from None
    except RecursionError:
        raise InvalidEvent([{"loc": [], "msg": "JSON nested too deeply"}]) from None
