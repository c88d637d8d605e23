"""Following a compacted topic whole on every worker (the blacklist, the passes).

A consumer group would split the partitions between workers, and each worker needs every
entry, so this reads all partitions without a group, from the beginning, and sets ``ready``
once it has reached the ends it saw at start (what waits on it then sees no stale state).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from .bootstrap import bootstrap_servers


async def follow_compacted(
    topic: str,
    client_id: str,
    ready: asyncio.Event,
    apply: Callable[[Any], Awaitable[None]],
    caught_up: Callable[[int], None],
    stopping: Callable[[], bool],
) -> None:
    """Hand every record of ``topic`` to ``apply`` until ``stopping()``; ``caught_up(partitions)`` once."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id=client_id,
    )
    await consumer.start()
    try:
        consumer.subscribe([topic])  # no group: every partition, from the beginning
        end: dict[TopicPartition, int] | None = None
        while not stopping():
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                for m in messages:
                    await apply(m)
            if ready.is_set():
                continue
            tps = consumer.assignment()
            if tps and end is None:
                end = await consumer.end_offsets(list(tps))
            if end is not None and all([await consumer.position(tp) >= end[tp] for tp in end]):
                ready.set()
                caught_up(len(end))
    finally:
        await consumer.stop()
