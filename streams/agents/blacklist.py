"""Run-time blacklist: every worker follows the whole compacted ``hazmat.blacklist`` topic
(:mod:`hazmat.streams.follower`); the worker starts judging only once it has caught up.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from confluent_kafka import Message

from .. import handlers, names, resources
from ..follower import Follower, source_of
from .send import Emit, emits

log = logging.getLogger("hazmat.streams.blacklist")


def apply(runtime: resources.RuntimeBlacklist, m: Message) -> list[Emit]:
    """One message: the list changes, or its dead letter and alert come back to be produced."""
    source = source_of(m)
    result = handlers.handle_blacklist(m.value(), source, datetime.now(UTC))
    if isinstance(result, handlers.BlacklistChange):
        runtime.apply(result)
        log.info("blacklist updated", extra={"value": result.key, "removed": result.entry is None})
        return []
    log.warning("invalid blacklist message", extra={"offset": source.offset, "errors": result.errors})
    return emits(result.outputs)


def follower() -> Follower:
    runtime = resources.blacklist()
    return Follower(
        names.BLACKLIST.name(),
        "hazmat-blacklist-follower",
        runtime.ready,
        lambda m: apply(runtime, m),
        lambda partitions: log.info("blacklist caught up", extra={"partitions": partitions}),
    )
