"""Table recovery that does not drop the first messages after a restart.

faust-streaming 0.15's ``Recovery.on_recovery_completed`` resumes the stream partitions,
then seeks them to the committed offsets, then resumes flow control, and resuming flow
control empties every stream queue. Messages fetched in between are thrown away while the
consumer's read offset has already moved past them: the agent takes the first one and then
waits for ever (upstream faust-streaming#596; seen here as a replacement worker that handled
one position after a kill and then nothing). Here the partitions stay paused until the seek
is done and the queues have been emptied, so nothing is fetched that would be discarded.
"""

from __future__ import annotations

import asyncio

from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery


class OrderedRecovery(Recovery):
    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        consumer = self.app.consumer
        self.log.info("Restore complete!")
        await self.app.on_rebalance_complete.send()
        self._set_recovery_ended()
        callbacks = [
            asyncio.ensure_future(
                table.on_recovery_completed(self.actives_for_table[table], self.standbys_for_table[table])
            )
            for table in self.tables.values()
        ]
        if callbacks:
            await asyncio.wait(callbacks)
        if self.app.consumer_generation_id != generation_id:
            self.log.warning(
                "Recovery rebalancing again app id %s param %s", self.app.consumer_generation_id, generation_id
            )
            return
        assignment = consumer.assignment()
        if assignment:
            self.log.info("Seek stream partitions to committed offsets.")
            await self._wait(consumer.perform_seek(), timeout=self.app.conf.broker_request_timeout)
        self.completed.set()
        self.app.flow_control.resume()  # empties the stream queues: nothing may be fetched before this
        consumer.resume_partitions({tp for tp in assignment if not self._is_changelog_tp(tp)})
        consumer.resume_flow()
        await self.app._fetcher.maybe_start()  # type: ignore[attr-defined]
        self.tables.on_actives_ready()
        if not self.app.assignor.assigned_standbys():
            self.tables.on_standbys_ready()
        self.app.on_rebalance_end()
        self.log.info("Worker ready")


class OrderedTableManager(TableManager):
    """faust's table manager with :class:`OrderedRecovery` (``faust.App(TableManager=...)``)."""

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = OrderedRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
