"""Vehicle rules (VEH-*): permit, scope, annual inspection, positioning terminal, load, blacklist."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from hazmat.events import CheckIn
from hazmat.hazard_classes import covers

from ._helpers import BLACKLIST, LOADER_CHECK, PLAN, listed, missing_or_expired, total_kg
from .catalogue import Hit, hit, rule
from .context import RuleContext


@rule(
    "VEH-001",
    severity="refuse",
    field="vehicle.transport_permit",
    basis=f"危险化学品安全管理条例 第四十三条; {LOADER_CHECK}; {PLAN}",
    summary_zh="道路运输证缺失或过期",
    summary_en="Road transport permit missing or expired",
    messages={
        "missing": ("未提供道路运输证", "No road transport permit"),
        "expired": (
            "道路运输证已过期（有效期至 {date}）",
            "Road transport permit expired on {date}",
        ),
    },
)
def transport_permit_valid(c: CheckIn, ctx: RuleContext) -> Iterable[Hit]:
    permit = c.vehicle.transport_permit
    return missing_or_expired(permit.valid_until if permit else None, ctx)


@rule(
    "VEH-002",
    severity="refuse",
    field="load[i].hazard_class",
    requires=("vehicle.transport_permit",),
    basis=f"危险化学品安全管理条例 第四十三条; {LOADER_CHECK}; {PLAN}",
    summary_zh="货物类别超出道路运输证经营范围",
    summary_en="Hazard class outside the permit's scope",
    messages={
        "not_covered": (
            "{un} 的危险货物类别 {cls} 不在道路运输证经营范围（{scope}）内",
            "Hazard class {cls} of {un} is not within the permit scope ({scope})",
        )
    },
)
def permit_scope_covers_load(c: CheckIn, ctx: RuleContext) -> Iterator[Hit]:
    permit = c.vehicle.transport_permit
    assert permit is not None  # guaranteed by requires
    for i, item in enumerate(c.load):
        if not covers(permit.scope, item.hazard_class):
            yield hit(
                "not_covered",
                f"load[{i}].hazard_class",
                un=item.un_number,
                cls=item.hazard_class,
                scope=permit.scope,
            )


@rule(
    "VEH-003",
    severity="refuse",
    field="vehicle.annual_inspection_valid_until",
    basis=f"危险化学品安全管理条例 第四十七条; {LOADER_CHECK}; {PLAN}",
    summary_zh="车辆年检缺失或过期",
    summary_en="Vehicle annual inspection missing or expired",
    messages={
        "missing": ("未提供车辆年检有效期", "No vehicle annual inspection date given"),
        "expired": (
            "车辆年检已过期（有效期至 {date}）",
            "Vehicle annual inspection expired on {date}",
        ),
    },
)
def annual_inspection_valid(c: CheckIn, ctx: RuleContext) -> Iterable[Hit]:
    return missing_or_expired(c.vehicle.annual_inspection_valid_until, ctx)


@rule(
    "VEH-004",
    severity="refuse",
    field="vehicle.gps_terminal_online",
    basis=f"道路运输车辆动态监督管理办法（卫星定位装置）; {PLAN}",
    summary_zh="卫星定位终端不在线",
    summary_en="Satellite positioning terminal not online",
    messages={
        "offline": ("卫星定位终端不在线", "Satellite positioning terminal is offline"),
        "unknown": (
            "未确认卫星定位终端在线",
            "Satellite positioning terminal not confirmed online",
        ),
    },
)
def gps_terminal_online(c: CheckIn, ctx: RuleContext) -> Iterator[Hit]:
    online = c.vehicle.gps_terminal_online
    if online is None:
        yield hit("unknown")
    elif online is not True:
        yield hit("offline")


@rule(
    "VEH-005",
    severity="refuse",
    field="load",
    basis=f"危险化学品安全管理条例 第四十七条; {PLAN}",
    summary_zh="超过核定载质量（超载）",
    summary_en="Load exceeds the rated load (overloaded)",
    messages={
        "overloaded": (
            "超载：装载 {total} kg，超过核定载质量 {rated} kg",
            "Overloaded: {total} kg loaded, rated load is {rated} kg",
        )
    },
)
def within_rated_load(c: CheckIn, ctx: RuleContext) -> Iterator[Hit]:
    total = total_kg(c.load)
    if total > c.vehicle.rated_load_kg:
        yield hit("overloaded", total=total, rated=c.vehicle.rated_load_kg)


@rule(
    "VEH-006",
    severity="refuse",
    field="vehicle.plate",
    basis=BLACKLIST,
    summary_zh="车辆或挂车列入黑名单",
    summary_en="Vehicle or trailer on the blacklist",
    messages={
        "listed": (
            "车辆 {value} 已列入黑名单（{why}）",
            "Vehicle {value} is on the blacklist ({why})",
        ),
    },
)
def vehicle_not_blacklisted(c: CheckIn, ctx: RuleContext) -> Iterable[Hit]:
    plates = ctx.settings.blacklist.plates
    return listed(c.vehicle.plate, plates, "vehicle.plate") + listed(
        c.vehicle.trailer_plate, plates, "vehicle.trailer_plate"
    )
