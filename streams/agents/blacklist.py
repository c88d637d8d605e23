"""Run-time blacklist: every worker follows the whole compacted ``hazmat.blacklist`` topic.

A consumer group would split its partitions between workers, and each worker needs every
entry, so this reads all partitions without a group, from the beginning. Check-ins wait
until it has caught up at start, so none is judged against a stale list.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from mode import Service

from .. import handlers, names, resources, topics
from ..app import app
from ..bootstrap import bootstrap_servers

log = logging.getLogger("hazmat.streams.blacklist")


@app.service
class BlacklistFollower(Service):
    @Service.task
    async def _follow(self) -> None:
        topic = names.BLACKLIST.name()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="hazmat-blacklist-follower",
        )
        await consumer.start()
        try:
            consumer.subscribe([topic])  # no group: every partition, from the beginning
            runtime = resources.blacklist()
            end: dict[TopicPartition, int] | None = None
            while not self.should_stop:
                batches = await consumer.getmany(timeout_ms=500)
                for messages in batches.values():
                    for m in messages:
                        await self._apply(runtime, m)
                if runtime.ready.is_set():
                    continue
                tps = consumer.assignment()
                if tps and end is None:
                    end = await consumer.end_offsets(list(tps))
                if end is not None and all([await consumer.position(tp) >= end[tp] for tp in end]):
                    runtime.ready.set()
                    log.info("blacklist caught up", extra={"partitions": len(end)})
        finally:
            await consumer.stop()

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
