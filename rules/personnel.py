"""Personnel rules (PER-*): driver and escort certificates, the escort's presence, the blacklist."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from hazmat.events import Certificate, CheckIn

from ._helpers import BLACKLIST, LOADER_CHECK, NO_HITS, PLAN, expired, listed
from .catalogue import Hit, hit, rule
from .context import RuleContext

_CERT_BASIS = f"危险化学品安全管理条例 第四十四条; {LOADER_CHECK}; {PLAN}"
_ESCORT_BASIS = f"危险化学品安全管理条例 第四十八条; {PLAN}"
_KIND_ZH = {"dg_driver": "道路危险货物运输驾驶人员", "dg_escort": "押运人员"}


def certificate_problems(cert: Certificate | None, kind: str, ctx: RuleContext) -> tuple[Hit, ...]:
    """Missing, expired or of the wrong kind: the three ways a crew certificate fails."""
    if cert is None:
        return (hit("missing"),)
    if cert.kind != kind:
        return (hit("wrong_kind", number=cert.number, found=_KIND_ZH[cert.kind], found_en=cert.kind),)
    if expired(cert.valid_until, ctx):
        return (hit("expired", number=cert.number, date=cert.valid_until),)
    return NO_HITS


@rule(
    "PER-001",
    severity="refuse",
    field="driver.certificate",
    basis=_CERT_BASIS,
    summary_zh="驾驶人员从业资格证缺失、过期或类别不符",
    summary_en="Driver's certificate missing, expired or of the wrong kind",
    messages={
        "missing": ("驾驶人员未提供从业资格证", "Driver has no dangerous-goods certificate"),
        "wrong_kind": (
            "驾驶人员从业资格证 {number} 类别为{found}，应为道路危险货物运输驾驶人员",
            "Driver's certificate {number} is of kind {found_en}, dg_driver required",
        ),
        "expired": (
            "驾驶人员从业资格证 {number} 已过期（有效期至 {date}）",
            "Driver's certificate {number} expired on {date}",
        ),
    },
)
def driver_certified(c: CheckIn, ctx: RuleContext) -> Iterable[Hit]:
    return certificate_problems(c.driver.certificate, "dg_driver", ctx)


@rule(
    "PER-002",
    severity="refuse",
    field="escort",
    basis=_ESCORT_BASIS,
    summary_zh="未配备押运人员",
    summary_en="No escort on board",
    messages={"missing": ("未配备押运人员", "No escort (押运员) on board")},
)
def escort_present(c: CheckIn, ctx: RuleContext) -> Iterator[Hit]:
    if c.escort is None:
        yield hit("missing")


@rule(
    "PER-003",
    severity="refuse",
    field="escort.certificate",
    requires=("escort",),
    basis=_CERT_BASIS,
    summary_zh="押运人员从业资格证缺失、过期或类别不符",
    summary_en="Escort's certificate missing, expired or of the wrong kind",
    messages={
        "missing": ("押运人员未提供从业资格证", "Escort has no dangerous-goods certificate"),
        "wrong_kind": (
            "押运人员从业资格证 {number} 类别为{found}，应为押运人员",
            "Escort's certificate {number} is of kind {found_en}, dg_escort required",
        ),
        "expired": (
            "押运人员从业资格证 {number} 已过期（有效期至 {date}）",
            "Escort's certificate {number} expired on {date}",
        ),
    },
)
def escort_certified(c: CheckIn, ctx: RuleContext) -> Iterable[Hit]:
    assert c.escort is not None  # guaranteed by requires
    return certificate_problems(c.escort.certificate, "dg_escort", ctx)


@rule(
    "PER-004",
    severity="refuse",
    field="escort.id_number",
    requires=("escort",),
    basis=_ESCORT_BASIS,
    summary_zh="押运人员与驾驶人员为同一人",
    summary_en="Escort is the driver",
    messages={
        "same_person": (
            "押运人员与驾驶人员为同一人（身份证号 {id}）",
            "Escort and driver are the same person (id {id})",
        )
    },
)
def escort_is_not_driver(c: CheckIn, ctx: RuleContext) -> Iterator[Hit]:
    assert c.escort is not None  # guaranteed by requires
    if c.escort.id_number == c.driver.id_number:
        yield hit("same_person", id=c.escort.id_number)


@rule(
    "PER-005",
    severity="refuse",
    field="driver.id_number",
    basis=BLACKLIST,
    summary_zh="驾驶或押运人员列入黑名单",
    summary_en="Driver or escort on the blacklist",
    messages={
        "listed": (
            "人员 {value} 已列入黑名单（{why}）",
            "Person {value} is on the blacklist ({why})",
        ),
    },
)
def crew_not_blacklisted(c: CheckIn, ctx: RuleContext) -> Iterable[Hit]:
    persons = ctx.settings.blacklist.persons
    return listed(c.driver.id_number, persons, "driver.id_number") + listed(
        c.escort.id_number if c.escort else None, persons, "escort.id_number"
    )
