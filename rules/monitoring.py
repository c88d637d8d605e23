"""The monitoring rules of ``shared/spec/rules.md`` ("Monitoring rules"): what a live alert enforces.

They are not check-in findings (no verdict, no per-city severity override): each names the
alert kind it is raised as, the alert's severity, a summary in both languages and its legal
basis. ``hazmat rules`` lists them beside the check-in rules, and every monitoring alert
carries its rule's id in ``rule_ids``, so a police officer can look any alert up by id.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hazmat.events import AlertSeverity


@dataclass(frozen=True)
class MonitoringRule:
    id: str
    kind: str  # the alert kind it is raised as (events.md)
    severity: AlertSeverity
    summary_zh: str
    summary_en: str
    basis: str


_RULES = (
    MonitoringRule(
        "ZON-001", "zone_entry", "high",
        "危险货物车辆驶入生效中的限行、禁行或水源保护区域（或规定路线区域内驶离规定路线），且无有效通行证",
        "Loaded vehicle inside an active zone that applies to its load (or off the designated roads of an "
        "active designated area), with no valid pass",
        "危险化学品安全管理条例 第四十九条 (限制通行区域); plan item 7 (限行区域、时间; 水源地禁行)",
    ),
    MonitoringRule(
        "RTE-001", "route_deviation", "medium",
        "车辆偏离为其核准的行驶路线（或在通行证开放的区域内偏离通行证路线）",
        "Vehicle off the permitted route issued to it (or, inside a zone its pass opens, off the pass's route)",
        "plan item 7 (严格管控危险化学品道路运输路线)",
    ),
    MonitoringRule(
        "MOV-001", "unchecked_movement", "high",
        "危险货物车辆 24 小时内无装货前查验放行记录却在行驶",
        "Hazmat vehicle moving with no passed check-in in the last 24 h",
        "plan item 7 (装货前查验)",
    ),
    MonitoringRule(
        "SPD-001", "speeding", "medium",
        "超过本市危险货物车辆限速",
        "Faster than the city's hazmat speed cap for the road",
        "plan item 7 (道路运输车辆执法); the city's caps",
    ),
    MonitoringRule(
        "FLW-001", "flow_overdue", "high",
        "剧毒、易制爆等高危化学品未在规定时间内送达",
        "High-hazard load not delivered within the city's flow_overdue_h",
        "plan items 3 and 7 (流向管控)",
    ),
)  # fmt: skip

_BY_KIND = {r.kind: r for r in _RULES}


def monitoring_rules() -> Iterator[MonitoringRule]:
    """Every monitoring rule, in id order."""
    return iter(sorted(_RULES, key=lambda r: r.id))


def for_kind(kind: str) -> MonitoringRule:
    """The rule an alert of this kind enforces."""
    try:
        return _BY_KIND[kind]
    except KeyError:
        msg = f"no monitoring rule for alert kind {kind!r}; known: {', '.join(sorted(_BY_KIND))}"
        raise KeyError(msg) from None
