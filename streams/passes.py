"""One message of the compacted ``hazmat.passes`` topic, without Kafka: a pass, a revocation or a dead letter.

The key is the pass id; a null value (a tombstone) revokes the pass. A pass the city cannot
accept (routing.md item 6: an unknown zone, a water source, ``valid_until`` ≤ ``valid_from``,
a key that is not its id) is a dead letter with the reason and an ``invalid_event`` alert,
keyed like every alert by the plate when the pass names one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hazmat.alerts import invalid_event_alert
from hazmat.events import DeadLetter, InvalidEvent, Pass, decode
from hazmat.passes import pass_problems

from . import names
from .handlers import Handled, Out, Source, encode, reject


@dataclass(frozen=True)
class PassChange:
    """Put (``granted`` set) or revoke (``granted`` None) the pass ``pass_id``."""

    pass_id: str
    granted: Pass | None


def handle_pass(raw: bytes | None, source: Source, now: datetime, features: Sequence[Any]) -> PassChange | Handled:
    """A change of the passes in force, or a dead letter when the message is not a pass this city accepts.

    ``features``: the city's ``zones.geojson`` features (what a pass may name).
    """
    if source.key is None:
        return reject(raw, source, [{"loc": ["key"], "msg": "a pass message needs its pass_id as key"}], now)
    key = source.key.decode("utf-8", errors="replace")
    if raw is None:
        return PassChange(key, None)
    try:
        granted = decode(Pass, raw)
    except InvalidEvent as exc:
        return _refuse(raw, source, exc.errors, now, _plate(raw))
    errors = pass_problems(granted, features)
    if granted.pass_id != key:
        errors.insert(0, {"loc": ["pass_id"], "msg": f"pass_id {granted.pass_id!r} differs from the key {key!r}"})
    if errors:
        return _refuse(raw, source, errors, now, granted.plate)
    return PassChange(key, granted)


def _refuse(raw: bytes, source: Source, errors: list[dict[str, Any]], now: datetime, plate: str | None) -> Handled:
    """The dead letter (keyed by the pass id, as the message was) and its alert, for the pass's plate (a pass id
    is no plate: without one the alert names none)."""
    handled = reject(raw, source, errors, now)
    dead = next(out for out in handled.outputs if out.topic is names.DLQ)
    alert = invalid_event_alert(DeadLetter.model_validate_json(dead.value), plate)
    key = None if plate is None else plate.encode("utf-8")
    return Handled(outputs=[dead, Out(names.ALERTS, key, encode(alert))], errors=errors)


def _plate(raw: bytes) -> str | None:
    """The plate a broken pass names, if it names one (for the alert's key); never trusted beyond that."""
    try:
        plate = json.loads(raw).get("plate")
    except (ValueError, AttributeError):
        return None
    return plate[:32] if isinstance(plate, str) and plate else None
