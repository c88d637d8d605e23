"""Judge one position ping: the vehicle's new state and the alerts it raises or clears.

A lasting condition (inside a zone, off the route, moving unchecked, speeding) raises one
alert when it begins and one ``cleared`` alert when it ends, never a storm. Alert ids derive
from the ping's event id, the kind (and zone) and the state. A redelivered ping (one of the
vehicle's recent ones) gets the very alerts it got the first time, and a ping older than the
newest one handled changes nothing, so a worker killed between saving the state and
committing its offsets neither loses nor invents an alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hazmat.alerts import alert_id
from hazmat.events import Alert, LonLat, Pass, Position
from hazmat.rules.monitoring import for_kind
from hazmat.zone_kinds import ZONE_KINDS

from .geofence import Geofence
from .passes import lapsed, opening
from .state import LoadInfo, VehicleState

if TYPE_CHECKING:
    from hazmat.routing.zones import Zone


@dataclass(frozen=True)
class MonitorSettings:
    corridor_m: float = 200.0
    deviation_pings: int = 2
    motorway_kmh: float = 80.0
    default_kmh: float = 60.0
    moving_kmh: float = 5.0
    check_valid_s: float = 24 * 3600
    #: inside a designated area, a ping this much farther than its match_m from every designated road is off them
    gps_tolerance_m: float = 30.0


class _Flips:
    """The lasting conditions of one ping that begin or end, as alerts; ``opened`` follows them.

    ``flip`` is called only when a condition changes, so messages are built only then.
    """

    def __init__(self, pos: Position, opened: dict[str, str]) -> None:
        self.pos = pos
        self.opened = opened
        self.alerts: list[Alert] = []
        self.by_zone = False  # several zones in one ping: one alert id per zone

    def flip(
        self, key: str, kind: str, now: bool, zh: str, en: str, zone_id: str | None = None, suffix: str | None = None
    ) -> None:
        """``suffix``: what the alert id adds to the ping's event id (default: the kind, and the zone when
        several zones flip in one ping)."""
        pos, status = self.pos, "raised" if now else "cleared"
        enforced = for_kind(kind)  # the monitoring rule (rules.md): its id and the alert's severity
        if suffix is None:
            suffix = f"{kind}-{zone_id}" if zone_id is not None and self.by_zone else kind
        self.alerts.append(
            Alert(
                alert_id=alert_id(pos.event_id, suffix, status),
                kind=kind,  # type: ignore[arg-type]
                severity=enforced.severity,
                plate=pos.plate,
                at=pos.at,
                location=LonLat(lon=pos.lon, lat=pos.lat),
                zone_id=zone_id,
                source_event_id=pos.event_id,
                state=status,
                rule_ids=[enforced.id],
                message_zh=zh,
                message_en=en,
            )
        )
        if now:
            self.opened[key] = pos.event_id
        else:
            self.opened.pop(key)


def judge_position(
    pos: Position,
    state: VehicleState,
    load: LoadInfo | None,
    route: dict[str, Any] | None,
    fence: Geofence,
    settings: MonitorSettings,
    passes: Sequence[Pass] = (),
) -> tuple[VehicleState, list[Alert]]:
    """The vehicle's state after this ping and the alerts it raises or clears (ZON, RTE, MOV, SPD rules).

    ``passes``: the vehicle's police passes (routing.md item 6); one valid at the ping opens its zones.
    """
    if pos.event_id in state.recent:  # redelivered: the same answer again, state unchanged
        return state, [Alert.model_validate(a, strict=False) for a in state.recent[pos.event_id]]  # our own JSON
    at_s = pos.at.timestamp()
    if state.last_at_s is not None and at_s < state.last_at_s:
        return state, []  # older than what this vehicle already reported: a late ping changes nothing
    flips = _Flips(pos, dict(state.open))
    x, y = fence.xy(pos.lon, pos.lat)
    where = _where(pos, fence, x, y, at_s, load, state.streaks, settings, passes)
    _zones(flips, fence, where, passes, at_s, settings.deviation_pings)
    _pass_routes(flips, where, settings.deviation_pings)
    off_route = _route(flips, fence, x, y, route, state.off_route, settings)
    _unchecked(flips, at_s, load, settings)
    _speed(flips, fence, x, y, settings)
    new_state = VehicleState(
        plate=state.plate,
        off_route=off_route,
        open=flips.opened,
        recent=dict(state.recent),
        last_at_s=state.last_at_s,
        streaks=where.streaks,
    )
    new_state.remember(pos.event_id, [a.model_dump(mode="json") for a in flips.alerts], at_s)
    return new_state, flips.alerts


@dataclass
class _Where:
    """Where a ping is against the zones: what holds it (ZON-001), which pass routes it has left (RTE-001)."""

    #: zone id -> the zone, metres off its designated roads (0 elsewhere), pings in a row
    inside: dict[str, tuple[Zone, float, int]] = field(default_factory=dict)
    #: zone id -> the zone, the passes opening it along their routes, metres off them, pings in a row
    off_pass: dict[str, tuple[Zone, list[Pass], float, int]] = field(default_factory=dict)
    #: consecutive pings off a designated area's roads (``area:<id>``) or a pass's route (``pass:<id>``)
    streaks: dict[str, int] = field(default_factory=dict)


def _where(
    pos: Position,
    fence: Geofence,
    x: float,
    y: float,
    at_s: float,
    load: LoadInfo | None,
    streaks: dict[str, int],
    settings: MonitorSettings,
    passes: Sequence[Pass],
) -> _Where:
    """The zones active now that apply to what the vehicle carries (unknown load: every zone) and hold the ping.

    A zone a valid pass opens wholly holds nothing; one it opens along its route holds a ping
    off that route (and off a designated area's roads) for ``deviation_pings`` pings in a row,
    as a deviation; a designated area holds a ping off its roads for as many pings; any other
    zone holds a ping inside it. Off a road means farther than the zone's ``match_m`` plus
    the GPS tolerance.
    """
    found = _Where()
    for z in fence.zones_at(x, y):
        if not z.active_at_epoch(at_s) or (load is not None and not z.applies(load.classes, load.un_numbers)):
            continue
        valid = opening(passes, pos.plate, z, at_s) if passes else []
        if any(p.route is None for p in valid):
            continue  # opened wholly
        if not valid and not z.designated:
            found.inside[z.id] = (z, 0.0, 0)
            continue
        off = min([fence.off_roads_m(z, x, y), *(fence.pass_route_m(p, x, y) for p in valid)])
        if off <= z.match_m + settings.gps_tolerance_m:
            continue  # on a designated road or the pass's route
        key = f"{'pass' if valid else 'area'}:{z.id}"
        count = found.streaks[key] = streaks.get(key, 0) + 1
        if valid:
            found.off_pass[z.id] = (z, valid, off, count)
        else:
            found.inside[z.id] = (z, off, count)
    return found


def _zones(flips: _Flips, fence: Geofence, where: _Where, passes: Sequence[Pass], at_s: float, pings: int) -> None:
    """ZON-001: inside a zone active now that applies to the load and no pass opens (a designated area: off its
    roads for ``deviation_pings`` pings in a row); the alert names a pass that has lapsed."""
    pos, opened = flips.pos, flips.opened
    inside = {
        zid: held
        for zid, held in where.inside.items()
        if not held[0].designated or held[2] >= pings or f"zone_entry:{zid}" in opened
    }
    leaving = sorted(
        k.split(":", 1)[1] for k in opened if k.startswith("zone_entry:") and k.split(":", 1)[1] not in inside
    )
    entering = sorted(zid for zid in inside if f"zone_entry:{zid}" not in opened)
    flips.by_zone = len(leaving) + len(entering) > 1
    for zid in leaving:
        zh, en = f"{pos.plate} 已驶离 {zid}", f"{pos.plate} left {zid}"
        left = fence.zone(zid)
        if left is not None and left.designated:
            zh = f"{pos.plate} 已回到 {zid} 的规定路线或驶离该区域"
            en = f"{pos.plate} is back on the designated roads of {zid} or out of it"
        flips.flip(f"zone_entry:{zid}", "zone_entry", False, zh, en, zid)
    for zid in entering:
        z, off, count = inside[zid]
        kind = ZONE_KINDS[z.kind]
        if z.designated:
            zh = f"危险货物车辆 {pos.plate} 在{z.name or zid}（{kind.zh}）内偏离规定路线 {off:.0f} 米（连续 {count} 次定位）"
            en = f"Hazmat vehicle {pos.plate} is inside {zid} ({kind.en}) {off:.0f} m off its designated roads ({count} pings in a row)"
        else:
            zh = f"危险货物车辆 {pos.plate} 驶入{z.name or zid}（{kind.zh}）"
            en = f"Hazmat vehicle {pos.plate} entered {zid} ({kind.en})"
        note_zh, note_en = lapsed(passes, pos.plate, z, at_s) if passes else ("", "")
        flips.flip(f"zone_entry:{zid}", "zone_entry", True, zh + note_zh, en + note_en, zid)


def _pass_routes(flips: _Flips, where: _Where, pings: int) -> None:
    """RTE-001 inside an opened zone: off the route of the pass that opens it for ``deviation_pings`` pings in a
    row; the alert names the pass. One condition per zone (its own alert id), apart from the permitted route's."""
    pos, opened = flips.pos, flips.opened
    off = {zid: held for zid, held in where.off_pass.items() if held[3] >= pings or f"pass_route:{zid}" in opened}
    for key in sorted(k for k in opened if k.startswith("pass_route:") and k.split(":", 1)[1] not in off):
        zid = key.split(":", 1)[1]
        flips.flip(
            key, "route_deviation", False,
            f"{pos.plate} 已回到通行证路线或驶离 {zid}", f"{pos.plate} is back on its pass's route or out of {zid}",
            zid, suffix=f"route_deviation-{zid}",
        )  # fmt: skip
    for zid in sorted(off):
        if f"pass_route:{zid}" in opened:
            continue
        z, valid, metres, count = off[zid]
        ids = "、".join(p.pass_id for p in valid)
        flips.flip(
            f"pass_route:{zid}", "route_deviation", True,
            f"{pos.plate} 在通行证 {ids} 开放的{z.name or zid}内偏离通行证路线 {metres:.0f} 米（连续 {count} 次定位）",
            f"{pos.plate} is {metres:.0f} m off the route of pass {', '.join(p.pass_id for p in valid)} inside {zid} ({count} pings in a row)",
            zid, suffix=f"route_deviation-{zid}",
        )  # fmt: skip


def _route(
    flips: _Flips,
    fence: Geofence,
    x: float,
    y: float,
    route: dict[str, Any] | None,
    off_route: int,
    settings: MonitorSettings,
) -> int:
    """RTE-001: off the issued route's corridor for N consecutive pings; returns the new count."""
    if route is None:
        return off_route
    pos = flips.pos
    distance = fence.off_route_m(route["route_id"], route["coordinates"], x, y, settings.corridor_m)
    off_route = 0 if distance is None else off_route + 1
    deviating = "route_deviation" in flips.opened
    if distance is not None and off_route >= settings.deviation_pings and not deviating:
        flips.flip(
            "route_deviation", "route_deviation", True,
            f"{pos.plate} 偏离核准路线 {distance:.0f} 米（连续 {off_route} 次定位）",
            f"{pos.plate} is {distance:.0f} m off its permitted route ({off_route} pings in a row)",
        )  # fmt: skip
    elif off_route == 0 and deviating:
        flips.flip(
            "route_deviation", "route_deviation", False,
            f"{pos.plate} 已回到核准路线", f"{pos.plate} is back on its route",
        )  # fmt: skip
    return off_route


def _unchecked(flips: _Flips, at_s: float, load: LoadInfo | None, settings: MonitorSettings) -> None:
    """MOV-001: moving without a passed check-in in the last 24 h."""
    pos = flips.pos
    checked = load is not None and 0 <= at_s - load.decided_at_s <= settings.check_valid_s
    unchecked_open = "unchecked_movement" in flips.opened
    if (pos.speed_kmh > settings.moving_kmh or checked) and (not checked) != unchecked_open:
        flips.flip(
            "unchecked_movement", "unchecked_movement", not checked,
            f"{pos.plate} 24 小时内无装货前查验放行记录却在行驶" if not checked else f"{pos.plate} 已有查验放行记录",
            f"{pos.plate} is moving without a passed check-in in the last 24 h" if not checked else f"{pos.plate} now has a passed check-in",
        )  # fmt: skip


def _speed(flips: _Flips, fence: Geofence, x: float, y: float, settings: MonitorSettings) -> None:
    """SPD-001: the hazmat speed caps (below both, the road does not matter and is not looked up)."""
    pos = flips.pos
    over, cap = False, settings.default_kmh
    if pos.speed_kmh > min(settings.motorway_kmh, settings.default_kmh):
        cap = settings.motorway_kmh if fence.on_fast_road(x, y) else settings.default_kmh
        over = pos.speed_kmh > cap
    if over != ("speeding" in flips.opened):
        flips.flip(
            "speeding", "speeding", over,
            f"{pos.plate} 超速：{pos.speed_kmh:.0f} km/h，危险货物车辆限速 {cap:.0f} km/h" if over else f"{pos.plate} 车速已恢复正常",
            f"{pos.plate} speeding: {pos.speed_kmh:.0f} km/h, hazmat limit {cap:.0f} km/h" if over else f"{pos.plate} back under the limit",
        )  # fmt: skip
