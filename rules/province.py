"""Out-of-province vehicles (OOP-*): the plans ask that they be registered (外省车辆登记)."""

from __future__ import annotations

from collections.abc import Iterator

from hazmat.events import CheckIn

from ._helpers import expired
from .catalogue import Hit, hit, rule
from .context import RuleContext


@rule(
    "OOP-001",
    severity="warn",
    field="documents.out_of_province_filing",
    basis="实施方案（外省车辆登记报备）",
    summary_zh="外省车辆未登记报备",
    summary_en="Out-of-province vehicle not registered",
    messages={
        "missing": (
            "外省车辆（{province}）未登记报备",
            "Vehicle from another province ({province}) has no out-of-province filing",
        ),
        "expired": (
            "外省车辆（{province}）报备 {number} 已过期（有效期至 {date}）",
            "Out-of-province filing {number} ({province}) expired on {date}",
        ),
    },
)
def out_of_province_registered(c: CheckIn, ctx: RuleContext) -> Iterator[Hit]:
    province = c.vehicle.plate[0]
    if province == ctx.settings.province:
        return
    filing = c.documents.out_of_province_filing
    if filing is None:
        yield hit("missing", province=province)
    elif expired(filing.valid_until, ctx):
        yield hit("expired", province=province, number=filing.number, date=filing.valid_until)
