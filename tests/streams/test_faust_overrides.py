"""The two faust-streaming overrides that keep a replacement worker from dropping messages.

No broker: the consumer's thread is replaced by a recorder, so these check what our
overrides ask of aiokafka. The end-to-end proof is
tests/integration/test_monitoring_kafka.py::test_a_worker_killed_mid_trip_loses_no_state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import faust
import pytest
from faust.types import TP

from hazmat.streams import transport
from hazmat.streams.recovery import OrderedRecovery, OrderedTableManager

STREAM, OTHER = TP("t.hazmat.positions", 0), TP("t.hazmat.checkins", 1)


class RecordingThread:
    def __init__(self, committed: dict[TP, int | None]) -> None:
        self.committed = committed
        self.calls: list[tuple[str, Any]] = []
        self.seen_partitions: set[TP] | None = None

    async def seek_to_committed(self) -> dict[TP, int | None]:
        self.calls.append(("seek_to_committed", None))
        return self.committed

    async def seek_to_beginning(self, *tps: TP) -> None:
        self.calls.append(("seek_to_beginning", set(tps)))

    async def getmany(self, active_partitions: set[TP] | None, timeout: float) -> dict:
        self.seen_partitions = active_partitions
        return {}


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def app(loop: asyncio.AbstractEventLoop) -> faust.App:
    app = faust.App(
        "test-overrides",
        broker=f"{transport.SCHEME}://127.0.0.1:1",
        TableManager=OrderedTableManager,
        store="memory://",
        loop=loop,
    )
    app.Table("vehicle-monitor", default=None, partitions=1)
    return app


def consumer_with(app: faust.App, thread: RecordingThread) -> transport.Consumer:
    consumer = app.consumer
    assert isinstance(consumer, transport.Consumer)
    consumer._thread.thread_loop.close()  # the real consumer thread never starts here
    consumer._thread = thread  # type: ignore[assignment]
    return consumer


def test_the_app_uses_our_transport_and_recovery(app):
    assert isinstance(app.transport, transport.Transport)
    assert isinstance(app.tables.recovery, OrderedRecovery)


def test_partitions_without_a_committed_offset_are_rewound_to_their_beginning_but_changelogs_are_not(app, loop):
    changelog = TP(app.tables["vehicle-monitor"].changelog_topic.get_topic_name(), 0)
    thread = RecordingThread({STREAM: None, OTHER: 7, changelog: None, TP("t.hazmat.routes", 2): 0})
    consumer = consumer_with(app, thread)
    loop.run_until_complete(consumer.perform_seek())
    assert thread.calls == [("seek_to_committed", None), ("seek_to_beginning", {STREAM, TP("t.hazmat.routes", 2)})]
    assert consumer._read_offset[OTHER] == 7
    assert consumer._read_offset[STREAM] is None


def test_nothing_is_rewound_when_every_partition_has_a_commit(app, loop):
    thread = RecordingThread({STREAM: 3, OTHER: 7})
    loop.run_until_complete(consumer_with(app, thread).perform_seek())
    assert thread.calls == [("seek_to_committed", None)]


def test_the_consumer_thread_gets_a_copy_of_the_active_partitions(app, loop):
    thread = RecordingThread({})
    consumer = consumer_with(app, thread)
    live = {STREAM, OTHER}
    loop.run_until_complete(consumer._getmany(live, timeout=0.1))
    assert thread.seen_partitions == live
    live.clear()  # what a rebalance does to faust's set while the thread still reads it
    assert thread.seen_partitions == {STREAM, OTHER}
