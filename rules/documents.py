"""Document rules (DOC-*): waybill against reality, SDS and label, toxic pass, flow registration."""

from __future__ import annotations

from collections.abc import Iterator

from hazmat.events import CheckIn, Waybill

from ._helpers import LOADER_CHECK, PLAN, expired, load_uns, quantities_by_un
from .catalogue import Hit, hit, rule
from .context import RuleContext

_WAYBILL_BASIS = f"{LOADER_CHECK}; {PLAN}"


def _waybill(c: CheckIn) -> Waybill:
    waybill = c.documents.waybill
    assert waybill is not None  # guaranteed by requires
    return waybill


@rule(
    "DOC-001",
    severity="refuse",
    field="documents.waybill",
    basis=_WAYBILL_BASIS,
    summary_zh="无危险货物运单",
    summary_en="No waybill",
    messages={"missing": ("未提供危险货物运单", "No dangerous-goods waybill")},
)
def waybill_present(c: CheckIn, ctx: RuleContext) -> Iterator[Hit]:
    if c.documents.waybill is None:
        yield hit("missing")


@rule(
    "DOC-002",
    severity="refuse",
    field="documents.waybill.items",
    requires=("documents.waybill",),
    basis=_WAYBILL_BASIS,
    summary_zh="运单货物与实际装载不符",
    summary_en="Waybill goods differ from the actual load",
    messages={
        "differs": (
            "运单与实际装载不符：未列明 {unlisted}；多列 {extra}",
            "Waybill does not match the load: not on waybill {unlisted}; on waybill only {extra}",
        )
    },
)
def waybill_lists_the_load(c: CheckIn, ctx: RuleContext) -> Iterator[Hit]:
    on_waybill = {item.un_number for item in _waybill(c).items}
    loaded = {item.un_number for item in c.load}
    if on_waybill != loaded:
        yield hit(
            "differs",
            unlisted=sorted(loaded - on_waybill) or ["—"],
            extra=sorted(on_waybill - loaded) or ["—"],
        )


@rule(
    "DOC-003",
    severity="refuse",
    field="documents.waybill.items[i].quantity_kg",
    requires=("documents.waybill",),
    basis=_WAYBILL_BASIS,
    summary_zh="运单数量与实际装载量偏差超出允许范围",
    summary_en="Waybill quantity differs from the load beyond the tolerance",
    messages={
        "quantity": (
            "{un} 运单数量 {listed} kg 与实际装载 {loaded} kg 偏差超过 {tolerance}",
            "{un}: waybill says {listed} kg, {loaded} kg loaded, beyond the {tolerance} tolerance",
        )
    },
)
def waybill_quantities_match(c: CheckIn, ctx: RuleContext) -> Iterator[Hit]:
    items = _waybill(c).items
    listed = quantities_by_un(items)
    loaded = quantities_by_un(c.load)
    tolerance = ctx.settings.waybill_tolerance
    first_index = {}
    for i, item in enumerate(items):
        first_index.setdefault(item.un_number, i)
    for un in sorted(listed.keys() & loaded.keys(), key=first_index.__getitem__):
        if abs(listed[un] - loaded[un]) > tolerance * loaded[un] * (1 + 1e-12):
            yield hit(
                "quantity",
                f"documents.waybill.items[{first_index[un]}].quantity_kg",
                un=un,
                listed=listed[un],
                loaded=loaded[un],
                tolerance=f"{tolerance:.1%}".replace(".0%", "%"),
            )


@rule(
    "DOC-004",
    severity="refuse",
    field="documents.waybill.plate",
    requires=("documents.waybill",),
    basis=_WAYBILL_BASIS,
    summary_zh="运单所载车辆或人员与实际不符",
    summary_en="Waybill vehicle or crew differ from those present",
    messages={
        "plate": (
            "运单车牌 {listed} 与实际车辆 {actual} 不符",
            "Waybill plate {listed} is not the vehicle {actual}",
        ),
        "driver": (
            "运单驾驶员身份证号 {listed} 与实际驾驶员 {actual} 不符",
            "Waybill driver id {listed} is not the driver present ({actual})",
        ),
        "escort": (
            "运单押运员身份证号 {listed} 与实际押运员 {actual} 不符",
            "Waybill escort id {listed} is not the escort present ({actual})",
        ),
    },
)
def waybill_names_vehicle_and_crew(c: CheckIn, ctx: RuleContext) -> Iterator[Hit]:
    waybill = _waybill(c)
    if waybill.plate != c.vehicle.plate:
        yield hit("plate", "documents.waybill.plate", listed=waybill.plate, actual=c.vehicle.plate)
    if waybill.driver_id_number != c.driver.id_number:
        yield hit(
            "driver",
            "documents.waybill.driver_id_number",
            listed=waybill.driver_id_number,
            actual=c.driver.id_number,
        )
    if c.escort is not None and waybill.escort_id_number != c.escort.id_number:
        yield hit(
            "escort",
            "documents.waybill.escort_id_number",
            listed=waybill.escort_id_number or "（未载明）",
            actual=c.escort.id_number,
        )


@rule(
    "DOC-005",
    severity="refuse",
    field="documents.sds_and_label",
    basis=f"危险化学品安全管理条例 第十五条; {PLAN}",
    summary_zh="缺少安全技术说明书和安全标签（一书一签）",
    summary_en="No safety data sheet and label",
    messages={
        "missing": (
            "未确认随车携带安全技术说明书和安全标签（一书一签）",
            "Safety data sheet and label not confirmed on board",
        )
    },
)
def sds_and_label_on_board(c: CheckIn, ctx: RuleContext) -> Iterator[Hit]:
    if c.documents.sds_and_label is not True:
        yield hit("missing")


@rule(
    "DOC-006",
    severity="refuse",
    field="documents.toxic_pass",
    basis=f"危险化学品安全管理条例 第五十条; {PLAN}",
    summary_zh="剧毒化学品无有效道路运输通行证",
    summary_en="Highly toxic chemical without a valid road transport pass",
    messages={
        "missing": (
            "装载剧毒化学品 {uns}，未提供剧毒化学品道路运输通行证",
            "Highly toxic {uns} loaded without a toxic-chemical road transport pass",
        ),
        "expired": (
            "剧毒化学品道路运输通行证 {number} 已过期（有效期至 {date}）",
            "Toxic-chemical pass {number} expired on {date}",
        ),
        "not_named": (
            "剧毒化学品道路运输通行证 {number} 未载明 {uns}",
            "Toxic-chemical pass {number} does not name {uns}",
        ),
        "quantity": (
            "剧毒化学品道路运输通行证 {number} 核定 {allowed} kg，少于装载的 {loaded} kg",
            "Toxic-chemical pass {number} allows {allowed} kg, {loaded} kg loaded",
        ),
    },
)
def toxic_pass_valid(c: CheckIn, ctx: RuleContext) -> Iterator[Hit]:
    toxic = load_uns(c, ctx.settings.toxic_un_numbers)
    if not toxic:
        return
    toxic_pass = c.documents.toxic_pass
    if toxic_pass is None:
        yield hit("missing", uns=toxic)
        return
    if expired(toxic_pass.valid_until, ctx):
        yield hit("expired", number=toxic_pass.number, date=toxic_pass.valid_until)
        return
    unnamed = [un for un in toxic if un not in toxic_pass.un_numbers]
    if unnamed:
        yield hit("not_named", number=toxic_pass.number, uns=unnamed)
        return
    loaded = sum(q for un, q in quantities_by_un(c.load).items() if un in toxic)
    if loaded > toxic_pass.quantity_kg:
        yield hit("quantity", number=toxic_pass.number, allowed=toxic_pass.quantity_kg, loaded=loaded)


@rule(
    "DOC-007",
    severity="refuse",
    field="documents.waybill",
    requires=("documents.waybill",),
    basis="危险化学品安全管理条例 第二十三条; 实施方案（高危化学品全流向管控）",
    summary_zh="高危化学品运单缺少流向登记（收货人、目的地）",
    summary_en="High-hazard chemical without consignee and destination on the waybill",
    messages={
        "no_flow": (
            "高危化学品 {uns} 的运单缺少{what}（流向登记）",
            "High-hazard {uns}: the waybill lacks {what_en} (flow registration)",
        )
    },
)
def high_hazard_flow_registered(c: CheckIn, ctx: RuleContext) -> Iterator[Hit]:
    waybill = _waybill(c)
    if waybill.consignee is not None and waybill.destination is not None:
        return
    uns = load_uns(c, ctx.settings.high_hazard_un_numbers)
    if not uns:
        return
    lacking = [
        (zh, en)
        for value, zh, en in (
            (waybill.consignee, "收货人", "consignee"),
            (waybill.destination, "目的地", "destination"),
        )
        if value is None
    ]
    yield hit(
        "no_flow", uns=uns, what="、".join(zh for zh, _ in lacking), what_en=" and ".join(en for _, en in lacking)
    )
