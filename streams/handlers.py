"""What the stream processors do with one message, without Kafka: values in, messages out.

The stream agents only decode the transport, call these functions and produce what they
return, so every outcome (verdict, alert, dead letter) is testable without a broker.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from hazmat.alerts import invalid_event_alert, verdict_alerts
from hazmat.archive import Entry
from hazmat.checking import archive_entry
from hazmat.events import (
    Alert,
    BlacklistEntry,
    CheckIn,
    DeadLetter,
    InvalidEvent,
    Route,
    RouteRequest,
    Strict,
    Verdict,
    decode,
    summarize,
)
from hazmat.rules import RuleSettings, evaluate

from . import names

M = TypeVar("M", bound=Strict)


@dataclass(frozen=True)
class Source:
    """Where a message came from: enough to find it again and to name it in a dead letter."""

    topic: str
    partition: int
    offset: int
    key: bytes | None


@dataclass(frozen=True)
class Out:
    """One message to produce."""

    topic: names.TopicSpec
    key: bytes | None
    value: bytes


def encode(event: Strict) -> bytes:
    return event.model_dump_json().encode("utf-8")


@dataclass
class Handled:
    """The outcome of one input message."""

    outputs: list[Out] = field(default_factory=list)
    checkin: CheckIn | None = None
    verdict: Verdict | None = None
    entry: Entry | None = None
    errors: list[dict[str, Any]] | None = None


def _plate_of(key: bytes | None) -> str | None:
    if key is None:
        return None
    try:
        return key.decode("utf-8")[:32]
    except UnicodeDecodeError:
        return None


def reject(raw: bytes | None, source: Source, errors: list[dict[str, Any]], now: datetime) -> Handled:
    """A dead letter with the reason and the original bytes, and an ``invalid_event`` alert."""
    if raw is None:
        text, encoding = "", "utf-8"
    else:
        try:
            text, encoding = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(raw).decode("ascii"), "base64"
    dead = DeadLetter(
        topic=source.topic,
        partition=source.partition,
        offset=source.offset,
        received_at=now,
        error=summarize(errors)[:4000],
        errors=[{"loc": [p if isinstance(p, int) else str(p) for p in e["loc"]], "msg": str(e["msg"])} for e in errors],
        raw=text,
        raw_encoding=encoding,
    )
    alert = invalid_event_alert(dead, _plate_of(source.key))
    return Handled(
        outputs=[Out(names.DLQ, source.key, encode(dead)), Out(names.ALERTS, source.key, encode(alert))],
        errors=errors,
    )


def internal_error(raw: bytes | None, source: Source, exc: Exception, now: datetime) -> Handled:
    """A bug while handling a message must not drop it: it becomes a dead letter naming the error's
    type (its text, which may quote the input, stays in the worker's log, not on the alerts topic)."""
    return reject(raw, source, [{"loc": [], "msg": f"internal error: {type(exc).__name__}"}], now)


def alert_out(alert: Alert) -> Out:
    """The message of an alert, keyed by its plate like every topic the police read."""
    return Out(names.ALERTS, (alert.plate or "").encode("utf-8"), encode(alert))


def decoded(model: type[M], raw: bytes | None, source: Source, now: datetime) -> M | Handled:
    """The event, or the dead letter (with its alert) that says why it is not one."""
    if raw is None:
        return reject(raw, source, [{"loc": [], "msg": "empty message (null value)"}], now)
    try:
        return decode(model, raw)
    except InvalidEvent as exc:
        return reject(raw, source, exc.errors, now)


def handle_checkin(raw: bytes | None, source: Source, settings: RuleSettings, now: datetime) -> Handled:
    """Judge one check-in message: verdict (to archive and publish) and alerts, or a dead letter."""
    checkin = decoded(CheckIn, raw, source, now)
    if isinstance(checkin, Handled):
        return checkin
    assert raw is not None
    verdict = evaluate(checkin, settings)
    key = checkin.vehicle.plate.encode("utf-8")
    outputs = [Out(names.VERDICTS, key, encode(verdict))]
    outputs += [Out(names.ALERTS, key, encode(alert)) for alert in verdict_alerts(checkin, verdict)]
    return Handled(
        outputs=outputs,
        checkin=checkin,
        verdict=verdict,
        entry=archive_entry(raw.decode("utf-8"), checkin, verdict, settings),
    )


def handle_route_request(
    raw: bytes | None, source: Source, plan: Callable[[RouteRequest], Route], now: datetime
) -> Handled:
    """Plan one route request (``plan`` is the router's), or a dead letter when it is not one."""
    request = decoded(RouteRequest, raw, source, now)
    if isinstance(request, Handled):
        return request
    route = plan(request)
    return Handled(outputs=[Out(names.ROUTES, request.plate.encode("utf-8"), encode(route))])


def no_router(request: RouteRequest, reason: str) -> Route:
    """The answer when this deployment has no road graph for its city."""
    return Route(
        route_id=f"rt-{request.request_id}",
        request_id=request.request_id,
        plate=request.plate,
        status="outside_map",
        reason_zh=f"本系统未载入路网：{reason}",
        reason_en=f"no road graph loaded: {reason}",
    )


@dataclass(frozen=True)
class BlacklistChange:
    """Add (entry set) or remove (entry None) the listed value ``key``."""

    key: str
    entry: BlacklistEntry | None


def handle_blacklist(raw: bytes | None, source: Source, now: datetime) -> BlacklistChange | Handled:
    """A blacklist update, or a dead letter when the message is not one."""
    if source.key is None:
        return reject(raw, source, [{"loc": ["key"], "msg": "a blacklist message needs the listed value as key"}], now)
    key = source.key.decode("utf-8", errors="replace")
    if raw is None:
        return BlacklistChange(key, None)
    try:
        entry = decode(BlacklistEntry, raw)
    except InvalidEvent as exc:
        return reject(raw, source, exc.errors, now)
    if entry.value != key:
        return reject(
            raw, source, [{"loc": ["value"], "msg": f"value {entry.value!r} differs from the key {key!r}"}], now
        )
    return BlacklistChange(key, entry)
