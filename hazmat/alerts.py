"""Alerts that follow from a verdict or from invalid input (pure: values in, values out).

Alert ids derive from the source event id, the kind and the state, so a redelivered
event yields the same alert id and consumers can drop the copy.
"""

from __future__ import annotations

from hazmat.events import Alert, CheckIn, DeadLetter, Verdict


def alert_id(source_id: str, kind: str, state: str = "raised") -> str:
    return f"a-{source_id}-{kind}" if state == "raised" else f"a-{source_id}-{kind}-{state}"


def verdict_alerts(checkin: CheckIn, verdict: Verdict) -> list[Alert]:
    """A refused check-in is a ``checkin_refused`` alert; an out-of-province finding an ``out_of_province`` one."""
    alerts: list[Alert] = []
    refusing = [f for f in verdict.findings if f.severity == "refuse"]
    if verdict.verdict == "refuse":
        ids = sorted({f.rule_id for f in refusing})
        alerts.append(
            Alert(
                alert_id=alert_id(checkin.event_id, "checkin_refused"),
                kind="checkin_refused",
                severity="high",
                plate=verdict.plate,
                at=verdict.decided_at,
                rule_ids=ids,
                source_event_id=checkin.event_id,
                message_zh=f"装货站 {checkin.site_id} 拒绝装货：" + "；".join(f.message_zh for f in refusing),
                message_en=f"Loading refused at site {checkin.site_id}: " + "; ".join(f.message_en for f in refusing),
            )
        )
    for f in verdict.findings:
        if f.rule_id == "OOP-001":
            alerts.append(
                Alert(
                    alert_id=alert_id(checkin.event_id, "out_of_province"),
                    kind="out_of_province",
                    severity="medium",
                    plate=verdict.plate,
                    at=verdict.decided_at,
                    rule_ids=[f.rule_id],
                    source_event_id=checkin.event_id,
                    message_zh=f"装货站 {checkin.site_id}：{f.message_zh}",
                    message_en=f"Site {checkin.site_id}: {f.message_en}",
                )
            )
    return alerts


def invalid_event_alert(dead: DeadLetter, plate: str | None) -> Alert:
    """Police see invalid input too: a loading site sending broken check-ins is a finding in itself."""
    source = f"{dead.topic}-{dead.partition}-{dead.offset}"
    return Alert(
        alert_id=alert_id(source, "invalid_event"),
        kind="invalid_event",
        severity="medium",
        plate=plate,
        at=dead.received_at,
        source_event_id=source,
        message_zh=f"{dead.topic} 收到无效事件（分区 {dead.partition}，偏移 {dead.offset}）：{dead.error}"[:2000],
        message_en=f"Invalid event on {dead.topic} (partition {dead.partition}, offset {dead.offset}): {dead.error}"[
            :2000
        ],
    )
