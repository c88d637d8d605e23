"""What the API reads back from Kafka: routes, the live alert feed and the vehicles' positions.

One consumer without a group follows ``hazmat.routes``, ``hazmat.alerts`` and
``hazmat.positions`` from the moment the API starts (a restarted API shows new alerts and
positions, not history: the archive is the history), and routes from :data:`ROUTES_LOOKBACK_S`
before it: the route issued to a vehicle before a restart is still the one its trip is held to.
Memory is bounded: the newest routes and alerts, and one last position per vehicle
(:class:`~hazmat.api.fleet.Fleet`).

Position stream subscribers are throttled per vehicle: each holds the latest change per plate
(a dict, so a vehicle reporting ten times a second still costs one entry) and is sent those
changes as one batch at most every :data:`POSITION_BATCH_S`, which is what the map applies at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict, deque
from typing import Any

from aiokafka import AIOKafkaConsumer

from hazmat.streams import names

from .fleet import Fleet

log = logging.getLogger("hazmat.api.feed")

MAX_ROUTES = 10_000
MAX_ALERTS = 5_000
#: a position stream client gets each vehicle's latest change at most this often (seconds)
POSITION_BATCH_S = 1.0
#: how long start-up waits for the topics' partitions before the feed says it is ready anyway
ASSIGN_WAIT_S = 10.0
#: routes issued this long before the API started are read too (the vehicles' current routes)
ROUTES_LOOKBACK_S = 24 * 3600.0


class PositionSubscriber:
    """One client of the position stream: the latest unsent change per plate, and a wake-up."""

    def __init__(self) -> None:
        self.pending: dict[str, dict[str, Any]] = {}
        self.changed = asyncio.Event()

    def put(self, vehicle: dict[str, Any]) -> None:
        self.pending[vehicle["plate"]] = vehicle
        self.changed.set()

    def take(self) -> list[dict[str, Any]]:
        batch, self.pending = list(self.pending.values()), {}
        self.changed.clear()
        return batch


class Feed:
    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.routes: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.routes_by_plate: OrderedDict[str, dict[str, Any]] = OrderedDict()  # the last permitted route issued
        self.alerts: deque[dict[str, Any]] = deque(maxlen=MAX_ALERTS)
        self.fleet = Fleet()
        self.subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.position_subscribers: set[PositionSubscriber] = set()
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
            names.POSITIONS.name(),
            bootstrap_servers=self.bootstrap,
            group_id=None,
            auto_offset_reset="latest",
            isolation_level="read_committed",  # an exactly-once worker's outputs count once committed
        )
        await consumer.start()
        try:
            await self._positioned(consumer)
            self.ready.set()
            async for message in consumer:
                try:
                    value = json.loads(message.value)
                except (TypeError, ValueError):
                    continue
                if not isinstance(value, dict):
                    continue
                self._take(message.topic, value)
                async with self._changed:
                    self._changed.notify_all()
        finally:
            await consumer.stop()

    @staticmethod
    async def _positioned(consumer: AIOKafkaConsumer) -> None:
        """Wait until every partition is assigned and its start offset resolved, so what is produced
        once the API says it is ready is seen (``latest`` is otherwise resolved at the first fetch).
        Topics not created yet (no worker ran) are not waited for beyond ``ASSIGN_WAIT_S``."""
        deadline = asyncio.get_running_loop().time() + ASSIGN_WAIT_S
        while not consumer.assignment() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)  # the assignment is made in the background after start()
        for tp in consumer.assignment():
            await consumer.position(tp)
        routes = [tp for tp in consumer.assignment() if tp.topic == names.ROUTES.name()]
        if routes:
            since_ms = int((time.time() - ROUTES_LOOKBACK_S) * 1000)
            found = await consumer.offsets_for_times(dict.fromkeys(routes, since_ms))
            for tp, at in found.items():
                if at is not None:  # None: nothing that recent on this partition, stay at its end
                    consumer.seek(tp, at.offset)

    def _take(self, topic: str, value: dict[str, Any]) -> None:
        if topic == names.ROUTES.name():
            self._route(value)
        elif topic == names.POSITIONS.name():
            vehicle = self.fleet.position(value)
            if vehicle is not None:
                self._publish(vehicle)
        else:
            self._alert(value)

    def _route(self, route: dict[str, Any]) -> None:
        request_id = route.get("request_id")
        if not isinstance(request_id, str):
            return
        self.routes[request_id] = route
        while len(self.routes) > MAX_ROUTES:
            self.routes.popitem(last=False)
        plate = route.get("plate")
        if route.get("status") == "ok" and isinstance(plate, str):  # the corridor the worker holds it to
            self.routes_by_plate[plate] = route
            self.routes_by_plate.move_to_end(plate)
            while len(self.routes_by_plate) > MAX_ROUTES:
                self.routes_by_plate.popitem(last=False)

    def _alert(self, alert: dict[str, Any]) -> None:
        if not isinstance(alert.get("alert_id"), str) or not isinstance(alert.get("kind"), str):
            return
        self.alerts.append(alert)
        for queue in list(self.subscribers):
            if queue.qsize() < 1000:  # a stalled browser must not grow memory
                queue.put_nowait(alert)
        vehicle = self.fleet.alert(alert)
        if vehicle is not None:
            self._publish(vehicle)

    def _publish(self, vehicle: dict[str, Any]) -> None:
        for subscriber in list(self.position_subscribers):
            subscriber.put(vehicle)

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
