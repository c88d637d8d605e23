"""What the agents hand back to produce: :class:`Emit`, one message each, and alerts with their log line."""

from __future__ import annotations

import logging
from functools import cache
from typing import NamedTuple

from hazmat.archive import Entry
from hazmat.events import Alert

from .. import handlers, names

log = logging.getLogger("hazmat.streams.alerts")


class Emit(NamedTuple):
    """One message to produce on ``topic`` (the full name); ``entry`` rides along on a verdict for the archive."""

    topic: str
    key: bytes | None
    value: bytes
    entry: Entry | None = None


@cache
def _topic(base: str) -> str:
    """A spec's topic name with the prefix of this process (read once: the environment does not change)."""
    return f"{names.prefix_from_env()}{base}"


def emit(out: handlers.Out, entry: Entry | None = None) -> Emit:
    return Emit(_topic(out.topic.base), out.key, out.value, entry)


def emits(outputs: list[handlers.Out]) -> list[Emit]:
    return [Emit(_topic(o.topic.base), o.key, o.value) for o in outputs]


def alert_emits(alerts: list[Alert]) -> list[Emit]:
    """One message each on the alerts topic, keyed by plate, and one structured log line each."""
    out = []
    for alert in alerts:
        out.append(emit(handlers.alert_out(alert)))
        log.info(
            "alert",
            extra={
                "plate": alert.plate,
                "kind": alert.kind,
                "state": alert.state,
                "alert_id": alert.alert_id,
                "event_id": alert.source_event_id,
            },
        )
    return out
