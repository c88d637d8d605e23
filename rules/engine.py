"""The verdict: run every rule of the catalogue over one check-in, never letting one crash it."""

from __future__ import annotations

import logging

from hazmat.events import CheckIn, Finding, Verdict

from . import carrier, documents, personnel, province, tank, vehicle  # noqa: F401  (register rules)
from .catalogue import Rule, all_rules
from .context import RuleContext, RuleSettings

log = logging.getLogger("hazmat.rules")


def _internal_error(rule: Rule, exc: Exception) -> Finding:
    return Finding(
        rule_id=rule.id,
        severity="refuse",
        field=rule.field,
        message_zh=f"规则内部错误（{type(exc).__name__}），请人工查验",
        message_en=f"Internal error in rule ({type(exc).__name__}); inspect by hand",
        basis=rule.basis,
    )


def evaluate(checkin: CheckIn, settings: RuleSettings, *, strict: bool = False) -> Verdict:
    """Judge one check-in: ``refuse`` when any finding has severity ``refuse``, else ``load``.

    A rule that raises becomes a ``refuse`` finding flagged as an internal error (a loading
    decision must never pass silently because a check broke); ``strict=True`` re-raises,
    for tests.
    """
    ctx = RuleContext(today=checkin.occurred_at.astimezone(settings.timezone).date(), settings=settings)
    findings: list[Finding] = []
    overrides = settings.severities
    for rule in all_rules():
        severity = overrides.get(rule.id, rule.severity) if overrides else rule.severity
        if severity == "off":
            continue
        try:
            findings.extend(rule.findings(checkin, ctx, severity))
        except Exception as exc:
            if strict:
                raise
            log.exception(
                "rule raised", extra={"rule_id": rule.id, "event_id": checkin.event_id, "plate": checkin.vehicle.plate}
            )
            findings.append(_internal_error(rule, exc))
    refused = any(f.severity == "refuse" for f in findings)
    return Verdict(
        verdict_id=f"v-{checkin.event_id}",
        checkin_event_id=checkin.event_id,
        plate=checkin.vehicle.plate,
        decided_at=checkin.occurred_at,
        verdict="refuse" if refused else "load",
        findings=findings,
        ruleset_version=settings.ruleset_version,
    )
