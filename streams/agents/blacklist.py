"""Run-time blacklist: every worker follows the whole compacted ``hazmat.blacklist`` topic
(:mod:`hazmat.streams.follower`). Check-ins wait until it has caught up at start, so none is
judged against a stale list.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from mode import Service

from .. import handlers, names, resources, topics
from ..app import app
from ..follower import follow_compacted

log = logging.getLogger("hazmat.streams.blacklist")


@app.service
class BlacklistFollower(Service):
    @Service.task
    async def _follow(self) -> None:
        runtime = resources.blacklist()
        await follow_compacted(
            names.BLACKLIST.name(),
            "hazmat-blacklist-follower",
            runtime.ready,
            lambda m: self._apply(runtime, m),
            lambda partitions: log.info("blacklist caught up", extra={"partitions": partitions}),
            lambda: self.should_stop,
        )

    async def _apply(self, runtime: resources.RuntimeBlacklist, message: object) -> None:
        m = message  # aiokafka ConsumerRecord
        source = handlers.Source(topic=m.topic, partition=m.partition, offset=m.offset, key=m.key)  # type: ignore[attr-defined]
        result = handlers.handle_blacklist(m.value, source, datetime.now(UTC))  # type: ignore[attr-defined]
        if isinstance(result, handlers.BlacklistChange):
            runtime.apply(result)
            log.info("blacklist updated", extra={"value": result.key, "removed": result.entry is None})
            return
        for out in result.outputs:
            await topics.send(out)
        log.warning("invalid blacklist message", extra={"offset": source.offset, "errors": result.errors})
