"""Kafka topic names (shared/spec/events.md) and how each is created.

Every name takes the common prefix ``HAZMAT_TOPIC_PREFIX`` (empty by default), so several
deployments or test runs can share one cluster. Nothing here imports the stream engine, so the
admin client, the demo and the docker-compose test can read it cheaply.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

#: partitions of a new topic unless ``HAZMAT_PARTITIONS`` says otherwise (``streams/settings.py``)
DEFAULT_PARTITIONS = 12


@dataclass(frozen=True)
class TopicSpec:
    """A topic's base name, what its key and value are, and its Kafka configuration."""

    base: str
    key: str
    value: str
    config: dict[str, str] = field(default_factory=dict)

    def name(self, prefix: str | None = None) -> str:
        return f"{prefix_from_env() if prefix is None else prefix}{self.base}"


CHECKINS = TopicSpec("hazmat.checkins", "vehicle plate", "check-in")
VERDICTS = TopicSpec("hazmat.verdicts", "vehicle plate", "verdict")
ROUTE_REQUESTS = TopicSpec("hazmat.route-requests", "vehicle plate", "route request")
ROUTES = TopicSpec("hazmat.routes", "vehicle plate", "route")
POSITIONS = TopicSpec("hazmat.positions", "vehicle plate", "position")
DELIVERIES = TopicSpec("hazmat.deliveries", "vehicle plate", "delivery (closes high-hazard flows)")
ALERTS = TopicSpec("hazmat.alerts", "vehicle plate", "alert")
DLQ = TopicSpec("hazmat.dlq", "original key", "dead letter", {"retention.ms": str(30 * 24 * 3600 * 1000)})
BLACKLIST = TopicSpec(
    "hazmat.blacklist", "listed value", "blacklist entry (null removes)", {"cleanup.policy": "compact"}
)
PASSES = TopicSpec("hazmat.passes", "pass id", "police pass (null revokes)", {"cleanup.policy": "compact"})

ALL: tuple[TopicSpec, ...] = (
    CHECKINS,
    VERDICTS,
    ROUTE_REQUESTS,
    ROUTES,
    POSITIONS,
    DELIVERIES,
    ALERTS,
    DLQ,
    BLACKLIST,
    PASSES,
)


def prefix_from_env() -> str:
    return os.environ.get("HAZMAT_TOPIC_PREFIX", "")


def app_id(prefix: str | None = None) -> str:
    """The application's name, following the topic prefix (what its consumer groups start with)."""
    return f"{prefix_from_env() if prefix is None else prefix}hazmat-checker"


def group_id(prefix: str | None = None) -> str:
    """The workers' consumer group; it also names the state's changelog topic (``changelog__<group>--…``)."""
    return f"{app_id(prefix)}-quix"
