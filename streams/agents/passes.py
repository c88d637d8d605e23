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

from hazmat.events import Pass
from hazmat.passes import PassBook

from .. import names, resources
from ..follower import Follower, source_of
from ..handlers import Source
from ..passes import PassChange, handle_pass
from .send import Emit, emits

log = logging.getLogger("hazmat.streams.passes")

#: how far ahead an arriving pass's states are prepared by default (the worker passes ``HAZMAT_PREPARE_HORIZON_S``)
PREPARE_HORIZON_S = 180.0


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


def apply(
    runtime: RuntimePasses, m: Message, features: Sequence[Any], prepare_horizon_s: float = PREPARE_HORIZON_S
) -> list[Emit]:
    return applied(runtime, m.value(), source_of(m), datetime.now(UTC), features, prepare_horizon_s)


def applied(
    runtime: RuntimePasses,
    raw: bytes | None,
    source: Source,
    now: datetime,
    features: Sequence[Any],
    prepare_horizon_s: float = PREPARE_HORIZON_S,
) -> list[Emit]:
    """One message of the topic: the pass put or revoked (a new one's states prepared once the follower has caught
    up), or its dead letter and alert to produce."""
    result = handle_pass(raw, source, now, features)
    if isinstance(result, PassChange):
        runtime.apply(result)
        granted = result.granted
        log.info(
            "pass revoked" if granted is None else "pass in force",
            extra={"pass_id": result.pass_id, "plate": None if granted is None else granted.plate},
        )
        if granted is not None and runtime.ready.is_set():  # caught up: a new pass, its state prepared now
            prepare(granted.plate, runtime.book.for_plate(granted.plate), now, prepare_horizon_s)
        return []
    log.warning("invalid pass message", extra={"offset": source.offset, "errors": result.errors})
    return emits(result.outputs)


def prepare(plate: str, passes: Sequence[Pass], now: datetime, horizon_s: float) -> None:
    """Have the router customise, in the background, the states the plate's passes make (``Router.prepare_passes``),
    before a request of the plate needs them; a failure is logged (the request would move its metric itself)."""
    try:
        queued = resources.prepare_passes(plate, passes, now, horizon_s)
    except Exception:
        log.exception("pass not prepared", extra={"plate": plate})
        return
    if queued:
        log.info("pass states prepared", extra={"plate": plate, "queued": queued})


def follower(prepare_horizon_s: float = PREPARE_HORIZON_S) -> Follower:
    runtime = runtime_passes()
    features = resources.city().zones.features
    return Follower(
        names.PASSES.name(),
        "hazmat-pass-follower",
        runtime.ready,
        lambda m: apply(runtime, m, features, prepare_horizon_s),
        lambda partitions: log.info("passes caught up", extra={"partitions": partitions, "passes": len(runtime.book)}),
    )
