"""High-hazard flows (流向): deliveries close them, a timer raises ``flow_overdue`` for late ones.

Flows open in the archive with the verdict that passed the load (``handlers.handle_checkin``);
the positions agent tracks them and closes them on arrival. Everything that touches the
archive is idempotent (insert-once rows), so redelivery and several workers are harmless:
an overdue alert is sent, then marked in the archive, so no worker sends it again later (two
workers that look at the same moment both send it, with the same alert id).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from faust import StreamT

from hazmat.events import Delivery
from hazmat.flows import overdue_alert
from hazmat.flows.store import close, delivered_by, mark_alerted, overdue

from .. import handlers, names, resources, topics
from ..app import app
from ..tables import load_of, set_load
from .checkins import source_of
from .send import send_alerts

log = logging.getLogger("hazmat.streams.flows")

deliveries = topics.BY_BASE[names.DELIVERIES.base]

#: how often a worker looks for overdue flows (a cheap indexed query)
OVERDUE_CHECK_S = 10.0


@app.agent(deliveries)
async def close_delivered(stream: StreamT) -> None:
    async for event in stream.events():
        source = source_of(event)
        delivery = handlers.decoded(Delivery, event.value, source, datetime.now(UTC))
        if isinstance(delivery, handlers.Handled):
            for out in delivery.outputs:
                await topics.send(out)
            continue
        # A redelivered delivery (the worker died before committing it) finds its flows closed by
        # itself: it closes nothing new but sends their cleared alerts again (same ids).
        candidates = await resources.in_archive(delivered_by, delivery.plate, delivery.event_id, what="flows")
        ids = tuple(
            s.flow.flow_id
            for s in candidates
            if delivery.checkin_event_id is None or s.flow.checkin_event_id == delivery.checkin_event_id
        )
        if not ids:
            log.warning("delivery without an open flow", extra={"plate": delivery.plate, "event_id": delivery.event_id})
            continue
        alerts = await resources.in_archive(
            close, delivery.plate, ids, delivery.at, "delivery", delivery.event_id, None, what="close flows"
        )
        load = load_of(delivery.plate)
        if load is not None and set(load.flows) & set(ids):
            set_load(delivery.plate, replace(load, flows=tuple(f for f in load.flows if f not in ids)))
        log.info("flows delivered", extra={"plate": delivery.plate, "event_id": delivery.event_id, "flows": list(ids)})
        await send_alerts(alerts)


@app.timer(OVERDUE_CHECK_S)
async def raise_overdue() -> None:
    # sent before it is marked: a crash in between sends it again (same alert id), never loses it
    after = timedelta(hours=resources.city().settings.flow_overdue_h)
    now = datetime.now(UTC)
    late = await resources.in_archive(overdue, now, after, what="overdue flows")
    await send_alerts([overdue_alert(s, "raised", now) for s in late])
    if late:
        await resources.in_archive(mark_alerted, late, now, what="mark overdue")
