"""faust's aiokafka transport with two fixes that keep a restarted worker from losing messages.

faust-streaming 0.15 pauses partitions only in its own bookkeeping (a set of "active"
partitions that the consumer thread reads while the event loop changes it); aiokafka goes on
prefetching every assigned partition, and reads an empty partition set as "all of them".
During a rebalance the set is empty for a moment, so the consumer thread hands over records
of paused partitions, faust drops them, and aiokafka's position has already moved on. A
seek to the committed offset brings them back, but aiokafka only seeks partitions that have
a committed offset > 0: for a partition nobody has committed yet (a worker killed before its
first commit) the records were gone until the next restart (faust-streaming#596).

- :meth:`Consumer._getmany` hands the consumer thread a copy of the active set.
- :meth:`Consumer.perform_seek` also rewinds the stream partitions without a committed
  offset to their beginning (what ``consumer_auto_offset_reset="earliest"`` means for a new
  group); handling is idempotent by event id, so a re-read is safe.
"""

from __future__ import annotations

import logging

from faust.transport.consumer import RecordMap
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as driver
from faust.types import TP

SCHEME = "hazmat-kafka"


log = logging.getLogger("hazmat.streams")


class Consumer(driver.Consumer):
    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> RecordMap:
        snapshot = None if active_partitions is None else set(active_partitions)
        return await super()._getmany(active_partitions=snapshot, timeout=timeout)

    async def perform_seek(self) -> None:
        read_offset = self._read_offset
        committed = await self.seek_to_committed()
        uncommitted = [
            tp for tp, offset in committed.items() if not offset and not self._is_changelog_tp(tp)
        ]  # fmt: skip
        if uncommitted:
            log.info(
                "rewind uncommitted partitions",
                extra={"partitions": sorted(f"{tp.topic}/{tp.partition}" for tp in uncommitted)},
            )
            await self._thread.seek_to_beginning(*uncommitted)
        read_offset.update(
            {tp: offset if offset is not None and offset >= 0 else None for tp, offset in committed.items()}
        )
        self._committed_offset.update({tp: offset for tp, offset in committed.items() if offset})


class Transport(driver.Transport):
    Consumer = Consumer


TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"
