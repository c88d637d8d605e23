"""Check-ins → verdicts (+ archive) and alerts; anything invalid → dead letter + ``invalid_event`` alert.

A passed load is also recorded in the ``vehicle-loads`` table (what the vehicle carries and
its open high-hazard flows), which the position monitor reads.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from faust import EventT, StreamT

from hazmat.checking import log_verdict
from hazmat.monitor.state import LoadInfo

from .. import handlers, resources, topics
from ..app import app
from ..tables import load_of, set_load

log = logging.getLogger("hazmat.streams.checkins")

#: a batch shares one archive transaction; ``within`` bounds the latency it adds at low rates
BATCH_MAX = 500
BATCH_WITHIN_S = 0.02


def source_of(event: EventT) -> handlers.Source:
    m = event.message
    return handlers.Source(topic=m.topic, partition=m.partition, offset=m.offset, key=event.key)


def _handle(event: EventT, now: datetime) -> handlers.Handled:
    source = source_of(event)
    try:
        return handlers.handle_checkin(event.value, source, resources.blacklist().settings, now)
    except Exception as exc:  # a bug must not drop the message: it goes to the DLQ with the reason
        log.exception("check-in handling failed", extra={"offset": source.offset, "partition": source.partition})
        return handlers.internal_error(event.value, source, exc, now)


def remember_load(h: handlers.Handled) -> None:
    """A ``load`` verdict becomes the plate's current load in the table (in batch order: the latest wins)."""
    if h.checkin is None or h.verdict is None or h.verdict.verdict != "load" or h.entry is None:
        return
    plate = h.checkin.vehicle.plate
    try:
        opened = [f.flow_id for f in h.entry.flows]
        set_load(plate, LoadInfo.after_load(h.checkin, h.verdict, opened, load_of(plate)))
    except Exception:  # a bug here must not stop judging: the verdict is out, the monitor misses one load
        log.exception("load not recorded", extra={"plate": plate, "event_id": h.checkin.event_id})


@app.agent(topics.checkins)
async def judge_checkins(stream: StreamT) -> None:
    async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
        await resources.blacklist().ready.wait()
        now = datetime.now(UTC)
        handled = [_handle(event, now) for event in events]
        # archive first, so a published verdict is always already on record (建档); the batch is
        # acknowledged only after both, so a crash in between means redelivery, not loss
        added = await resources.record([h.entry for h in handled if h.entry is not None])
        for event, h in zip(events, handled, strict=True):
            remember_load(h)
            for out in h.outputs:
                await topics.send(out)
            if h.verdict is not None:
                log_verdict(log, h.verdict, load_level=logging.DEBUG)  # loads at DEBUG: thousands a second
            else:
                log.warning(
                    "dead letter",
                    extra={"partition": event.message.partition, "offset": event.message.offset, "errors": h.errors},
                )
        log.debug("batch", extra={"events": len(events), "archived": added})
