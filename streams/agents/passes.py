"""Police passes: every worker follows the whole compacted ``hazmat.passes`` topic (routing.md item 6).

As with the blacklist, a consumer group would split the partitions between workers, and each
worker needs every pass, so a follower thread reads all partitions from the beginning; the
worker starts its stream once it has caught up, so no route is answered, and no ping judged,
without the passes in force. A null value (a tombstone) revokes a pass; a pass the city cannot
accept becomes a dead letter and an ``invalid_event`` alert.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from confluent_kafka import Message

from hazmat.passes import PassBook

from .. import names, resources
from ..follower import Follower, source_of
from ..passes import PassChange, handle_pass
from .send import Emit, emits

log = logging.getLogger("hazmat.streams.passes")


class RuntimePasses:
    """The passes in force on this worker (a copy-on-write book: the stream reads it while the follower writes)."""

    def __init__(self) -> None:
        self.book = PassBook()
        self.ready = threading.Event()

    def apply(self, change: PassChange) -> None:
        if change.granted is None:
            self.book.revoke(change.pass_id)
        else:
            self.book.put(change.granted)


@cache
def runtime_passes() -> RuntimePasses:
    return RuntimePasses()


def apply(runtime: RuntimePasses, m: Message, features: Sequence[Any]) -> list[Emit]:
    source = source_of(m)
    result = handle_pass(m.value(), source, datetime.now(UTC), features)
    if isinstance(result, PassChange):
        runtime.apply(result)
        granted = result.granted
        log.info(
            "pass revoked" if granted is None else "pass in force",
            extra={"pass_id": result.pass_id, "plate": None if granted is None else granted.plate},
        )
        return []
    log.warning("invalid pass message", extra={"offset": source.offset, "errors": result.errors})
    return emits(result.outputs)


def follower() -> Follower:
    runtime = runtime_passes()
    features = resources.city().zones.features
    return Follower(
        names.PASSES.name(),
        "hazmat-pass-follower",
        runtime.ready,
        lambda m: apply(runtime, m, features),
        lambda partitions: log.info("passes caught up", extra={"partitions": partitions, "passes": len(runtime.book)}),
    )
