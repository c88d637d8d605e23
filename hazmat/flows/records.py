"""Flow records (流向登记) for high-hazard chemicals: opened by a ``load`` verdict, closed on arrival.

One flow per high-hazard UN
number in a passed load; its id derives from the check-in, so a redelivered check-in opens
nothing twice. A flow closes when the vehicle stops near the destination of the route it was
issued, or on an explicit delivery event; one still open after the configured time raises a
``flow_overdue`` alert. Pure values here; the archive keeps the records and the worker the timer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from hazmat.alerts import alert_id
from hazmat.events import Alert, CheckIn, LonLat, Verdict
from hazmat.rules.monitoring import for_kind

OVERDUE = "flow_overdue"
FLOW_RULE = for_kind(OVERDUE)  # FLW-001


@dataclass(frozen=True)
class Flow:
    flow_id: str
    checkin_event_id: str
    plate: str
    site_id: str
    un_number: str
    name: str
    quantity_kg: float
    consignor: str | None
    consignee: str | None
    destination: str | None
    opened_at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "flow_id": self.flow_id,
            "checkin_event_id": self.checkin_event_id,
            "plate": self.plate,
            "site_id": self.site_id,
            "un_number": self.un_number,
            "name": self.name,
            "quantity_kg": self.quantity_kg,
            "consignor": self.consignor,
            "consignee": self.consignee,
            "destination": self.destination,
            "opened_at": self.opened_at.isoformat(),
        }


@dataclass(frozen=True)
class TrackPoint:
    at: datetime
    lon: float
    lat: float
    source_event_id: str


@dataclass(frozen=True)
class FlowStatus:
    """A flow as the archive knows it: the record, its last tracked point, how it ended."""

    flow: Flow
    last: TrackPoint | None = None
    closed_at: datetime | None = None
    closed_how: str | None = None
    closed_by: str | None = None  # the event (delivery or position) that closed it

    def as_json(self) -> dict[str, object]:
        last = self.last
        return {
            **self.flow.as_json(),
            "last_seen": None if last is None else {"at": last.at.isoformat(), "lon": last.lon, "lat": last.lat},
            "closed_at": None if self.closed_at is None else self.closed_at.isoformat(),
            "closed_how": self.closed_how,
        }


def flow_id(checkin_event_id: str, un_number: str) -> str:
    return f"f-{checkin_event_id}-{un_number}"


def opened_by(checkin: CheckIn, verdict: Verdict, high_hazard: frozenset[str]) -> list[Flow]:
    """The flows a verdict opens: one per high-hazard UN number of a passed load, none otherwise."""
    if verdict.verdict != "load":
        return []
    waybill = checkin.documents.waybill
    by_un: dict[str, tuple[str, float]] = {}
    for item in checkin.load:
        if item.un_number in high_hazard:
            name, kg = by_un.get(item.un_number, (item.name or item.un_number, 0.0))
            by_un[item.un_number] = (name, kg + item.quantity_kg)
    return [
        Flow(
            flow_id=flow_id(checkin.event_id, un),
            checkin_event_id=checkin.event_id,
            plate=checkin.vehicle.plate,
            site_id=checkin.site_id,
            un_number=un,
            name=name,
            quantity_kg=kg,
            consignor=waybill.consignor if waybill else None,
            consignee=waybill.consignee if waybill else None,
            destination=waybill.destination if waybill else None,
            opened_at=checkin.occurred_at,
        )
        for un, (name, kg) in sorted(by_un.items())
    ]


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine); plenty for a radius of a few hundred metres."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def arrived(
    lon: float, lat: float, speed_kmh: float | None, destination: tuple[float, float] | None, radius_m: float
) -> bool:
    """Stopped (under 1 km/h) within ``radius_m`` of the destination the vehicle was routed to."""
    if destination is None or speed_kmh is None or speed_kmh >= 1.0:
        return False
    return distance_m(lon, lat, destination[0], destination[1]) <= radius_m


def overdue_alert(status: FlowStatus, state: str, at: datetime) -> Alert:
    """``raised`` when a flow is still open after the configured time, ``cleared`` when it closes later."""
    f = status.flow
    last = status.last
    where_zh = f"，最后位置 {last.lon:.5f},{last.lat:.5f}（{last.at.isoformat()}）" if last else "，无位置记录"
    where_en = f"; last seen at {last.lon:.5f},{last.lat:.5f} ({last.at.isoformat()})" if last else "; no position"
    if state == "raised":
        zh = f"{f.plate} 装载的 {f.name}（{f.un_number}，{f.quantity_kg:g} kg）自 {f.opened_at.isoformat()} 起未送达 {f.destination or '目的地'}{where_zh}"
        en = f"{f.plate}: {f.un_number} {f.quantity_kg:g} kg loaded {f.opened_at.isoformat()} not delivered to {f.destination or 'its destination'}{where_en}"
    else:
        zh = f"{f.plate} 装载的 {f.name}（{f.un_number}）已送达"
        en = f"{f.plate}: {f.un_number} delivered"
    return Alert(
        alert_id=alert_id(f.flow_id, OVERDUE, state),
        kind=OVERDUE,
        severity=FLOW_RULE.severity,
        plate=f.plate,
        at=at,
        location=LonLat(lon=last.lon, lat=last.lat) if last else None,
        rule_ids=[FLOW_RULE.id],
        source_event_id=f.checkin_event_id,
        state=state,  # type: ignore[arg-type]
        message_zh=zh,
        message_en=en,
    )
