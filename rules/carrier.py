"""Carrier rules (CAR-*): the transport licence and the blacklist."""

from __future__ import annotations

from collections.abc import Iterable

from hazmat.events import CheckIn

from ._helpers import BLACKLIST, PLAN, listed, missing_or_expired
from .catalogue import Hit, rule
from .context import RuleContext


@rule(
    "CAR-001",
    severity="refuse",
    field="carrier",
    basis=f"危险化学品安全管理条例 第四十三条、第四十六条; {PLAN}",
    summary_zh="承运人道路危险货物运输许可缺失或过期",
    summary_en="Carrier's dangerous-goods transport licence missing or expired",
    messages={
        "missing": ("未提供承运人及其道路危险货物运输许可", "No carrier or carrier licence given"),
        "expired": (
            "承运人道路危险货物运输许可已过期（有效期至 {date}）",
            "Carrier's dangerous-goods transport licence expired on {date}",
        ),
    },
)
def carrier_licensed(c: CheckIn, ctx: RuleContext) -> Iterable[Hit]:
    return missing_or_expired(c.carrier.license_valid_until if c.carrier else None, ctx)


@rule(
    "CAR-002",
    severity="refuse",
    field="carrier.license_number",
    requires=("carrier",),
    basis=BLACKLIST,
    summary_zh="承运人列入黑名单",
    summary_en="Carrier on the blacklist",
    messages={
        "listed": (
            "承运人许可证 {value} 已列入黑名单（{why}）",
            "Carrier licence {value} is on the blacklist ({why})",
        ),
    },
)
def carrier_not_blacklisted(c: CheckIn, ctx: RuleContext) -> Iterable[Hit]:
    assert c.carrier is not None  # guaranteed by requires
    return listed(c.carrier.license_number, ctx.settings.blacklist.carriers, "carrier.license_number")
