"""Police passes: every worker follows the whole compacted ``hazmat.passes`` topic (routing.md item 6).

As with the blacklist, a consumer group would split the partitions between workers, and each
worker needs every pass, so this reads all partitions without a group, from the beginning.
Route requests and positions wait until it has caught up at start, so no route is answered,
and no ping judged, without the passes in force. A null value (a tombstone) revokes a pass;
a pass the city cannot accept becomes a dead letter and an ``invalid_event`` alert.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from functools import cache

from mode import Service

from hazmat.passes import PassBook

from .. import handlers, names, resources, topics
from ..app import app
from ..follower import follow_compacted
from ..passes import PassChange, handle_pass

log = logging.getLogger("hazmat.streams.passes")


class RuntimePasses:
    """The passes in force on this worker, and whether the follower has caught up with the topic."""

    def __init__(self) -> None:
        self.book = PassBook()
        self.ready = asyncio.Event()

    def apply(self, change: PassChange) -> None:
        if change.granted is None:
            self.book.revoke(change.pass_id)
        else:
            self.book.put(change.granted)


@cache
def runtime_passes() -> RuntimePasses:
    return RuntimePasses()


@app.service
class PassFollower(Service):
    @Service.task
    async def _follow(self) -> None:
        runtime = runtime_passes()
        features = resources.city().zones.features
        await follow_compacted(
            names.PASSES.name(),
            "hazmat-pass-follower",
            runtime.ready,
            lambda m: self._apply(runtime, m, features),
            lambda partitions: log.info(
                "passes caught up", extra={"partitions": partitions, "passes": len(runtime.book)}
            ),
            lambda: self.should_stop,
        )

    async def _apply(self, runtime: RuntimePasses, message: object, features: list) -> None:
        m = message  # aiokafka ConsumerRecord
        source = handlers.Source(topic=m.topic, partition=m.partition, offset=m.offset, key=m.key)  # type: ignore[attr-defined]
        result = handle_pass(m.value, source, datetime.now(UTC), features)  # type: ignore[attr-defined]
        if isinstance(result, PassChange):
            runtime.apply(result)
            granted = result.granted
            log.info(
                "pass revoked" if granted is None else "pass in force",
                extra={"pass_id": result.pass_id, "plate": None if granted is None else granted.plate},
            )
            return
        for out in result.outputs:
            await topics.send(out)
        log.warning("invalid pass message", extra={"offset": source.offset, "errors": result.errors})
