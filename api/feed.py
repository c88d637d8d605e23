"""What the API reads back from Kafka: routes by request id and the live alert feed.

One consumer without a group follows ``hazmat.routes`` and ``hazmat.alerts`` from the moment
the API starts (a restarted API shows new alerts, not history: the archive is the history).
Memory is bounded: the newest routes and alerts only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict, deque
from typing import Any

from aiokafka import AIOKafkaConsumer

from hazmat.streams import names

log = logging.getLogger("hazmat.api.feed")

MAX_ROUTES = 10_000
MAX_ALERTS = 5_000


class Feed:
    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.routes: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.alerts: deque[dict[str, Any]] = deque(maxlen=MAX_ALERTS)
        self.subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            names.ROUTES.name(),
            names.ALERTS.name(),
            bootstrap_servers=self.bootstrap,
            group_id=None,
            auto_offset_reset="latest",
            isolation_level="read_committed",  # an exactly-once worker's outputs count once committed
        )
        await consumer.start()
        try:
            self.ready.set()
            async for message in consumer:
                try:
                    value = json.loads(message.value)
                except (TypeError, ValueError):
                    continue
                if message.topic == names.ROUTES.name():
                    self.routes[value["request_id"]] = value
                    while len(self.routes) > MAX_ROUTES:
                        self.routes.popitem(last=False)
                else:
                    self.alerts.append(value)
                    for queue in list(self.subscribers):
                        if queue.qsize() < 1000:  # a stalled browser must not grow memory
                            queue.put_nowait(value)
                async with self._changed:
                    self._changed.notify_all()
        finally:
            await consumer.stop()

    async def route(self, request_id: str, wait_s: float) -> dict[str, Any] | None:
        """The route for ``request_id``, waiting up to ``wait_s`` for it to arrive."""
        deadline = asyncio.get_running_loop().time() + wait_s
        while request_id not in self.routes:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return None
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=remaining)
        return self.routes[request_id]
