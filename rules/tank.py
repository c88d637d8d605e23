"""Tank rules (TNK-*): inspection, approved media, capacity. Packaged goods (no tank) skip them."""

from __future__ import annotations

from collections.abc import Iterator

from hazmat.events import CheckIn

from ._helpers import LOADER_CHECK, PLAN, expired, total_kg
from .catalogue import Hit, hit, rule
from .context import RuleContext


@rule(
    "TNK-001",
    severity="refuse",
    field="tank.inspection_valid_until",
    requires=("tank",),
    basis=f"危险货物道路运输安全管理办法 第二十五条; {PLAN}",
    summary_zh="罐体检验过期（罐体检测不符）",
    summary_en="Tank inspection expired",
    messages={"expired": ("罐体检验已过期（有效期至 {date}）", "Tank inspection expired on {date}")},
)
def tank_inspected(c: CheckIn, ctx: RuleContext) -> Iterator[Hit]:
    assert c.tank is not None  # guaranteed by requires
    if expired(c.tank.inspection_valid_until, ctx):
        yield hit("expired", date=c.tank.inspection_valid_until)


@rule(
    "TNK-002",
    severity="refuse",
    field="load[i].un_number",
    requires=("tank",),
    basis=f"{LOADER_CHECK}; {PLAN}",
    summary_zh="货物不在罐体适装介质范围内",
    summary_en="Load not among the tank's approved media",
    messages={
        "not_approved": (
            "{un} 不在罐体 {tank} 的适装介质列表（{approved}）内",
            "{un} is not an approved medium of tank {tank} ({approved})",
        )
    },
)
def tank_approved_for_load(c: CheckIn, ctx: RuleContext) -> Iterator[Hit]:
    tank = c.tank
    assert tank is not None  # guaranteed by requires
    approved = tank.approved_un_numbers or ["无"]
    for i, item in enumerate(c.load):
        if item.un_number not in tank.approved_un_numbers:
            yield hit(
                "not_approved",
                f"load[{i}].un_number",
                un=item.un_number,
                tank=tank.number,
                approved=approved,
            )


@rule(
    "TNK-003",
    severity="refuse",
    field="tank.capacity_kg",
    requires=("tank",),
    basis=f"{LOADER_CHECK}; {PLAN}",
    summary_zh="装载量超过罐体容量",
    summary_en="Load exceeds the tank's capacity",
    messages={
        "over_capacity": (
            "装载 {total} kg，超过罐体容量 {capacity} kg",
            "{total} kg loaded, tank capacity is {capacity} kg",
        )
    },
)
def within_tank_capacity(c: CheckIn, ctx: RuleContext) -> Iterator[Hit]:
    assert c.tank is not None  # guaranteed by requires
    total = total_kg(c.load)
    if total > c.tank.capacity_kg:
        yield hit("over_capacity", total=total, capacity=c.tank.capacity_kg)
