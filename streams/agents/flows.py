"""High-hazard flows (流向): deliveries close them, a timer raises ``flow_overdue`` for late ones.

Flows open in the archive with the verdict that passed the load (``handlers.handle_checkin``);
the positions agent tracks them and closes them on arrival. Everything that touches the
archive is idempotent (insert-once rows), so redelivery and several workers are harmless:
an overdue alert is sent, then marked in the archive, so no worker sends it again later (two
workers that look at the same moment both send it, with the same alert id).

The stream has no timers: :class:`OverdueTimer` is a thread beside it, with its own archive
connection and the worker's side producer.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hazmat.archive import Archive, open_archive
from hazmat.events import Delivery
from hazmat.flows import overdue_alert
from hazmat.flows.store import close, delivered_by, mark_alerted, overdue
from hazmat.monitor.state import LoadInfo

from .. import handlers, resources
from ..producer import send_now
from ..state import LOAD, PlateState
from .send import Emit, alert_emits, emits

log = logging.getLogger("hazmat.streams.flows")


def handle_delivery(raw: bytes | None, source: handlers.Source, now: datetime, st: PlateState) -> list[Emit]:
    delivery = handlers.decoded(Delivery, raw, source, now)
    if isinstance(delivery, handlers.Handled):
        return emits(delivery.outputs)
    # A redelivered delivery (the worker died before committing it) finds its flows closed by
    # itself: it closes nothing new but sends their cleared alerts again (same ids).
    candidates = resources.in_archive(delivered_by, delivery.plate, delivery.event_id, what="flows")
    ids = tuple(
        s.flow.flow_id
        for s in candidates
        if delivery.checkin_event_id is None or s.flow.checkin_event_id == delivery.checkin_event_id
    )
    if not ids:
        log.warning("delivery without an open flow", extra={"plate": delivery.plate, "event_id": delivery.event_id})
        return []
    alerts = resources.in_archive(
        close, delivery.plate, ids, delivery.at, "delivery", delivery.event_id, None, what="close flows"
    )
    load = LoadInfo.from_json(st.get(LOAD))
    if load is not None and set(load.flows) & set(ids):
        st.set(LOAD, replace(load, flows=tuple(f for f in load.flows if f not in ids)).to_json())
    log.info("flows delivered", extra={"plate": delivery.plate, "event_id": delivery.event_id, "flows": list(ids)})
    return alert_emits(alerts)


class OverdueTimer(threading.Thread):
    """Every ``every_s``: open flows past the city's ``flow_overdue_h`` that no worker alerted yet."""

    def __init__(self, every_s: float) -> None:
        super().__init__(name="hazmat-overdue-timer", daemon=True)
        self.every_s = every_s
        self.stopping = threading.Event()

    def run(self) -> None:
        archive = open_archive(resources.city().archive_path())  # its own connection: the stream has the other
        after = timedelta(hours=resources.city().settings.flow_overdue_h)
        try:
            while not self.stopping.wait(self.every_s):
                try:
                    self.tick(archive, after)
                except Exception:  # the next tick tries again; nothing was marked, so nothing is lost
                    log.exception("overdue check failed")
        finally:
            archive.close()

    @staticmethod
    def tick(archive: Archive, after: timedelta) -> int:
        # sent before it is marked: a crash in between sends it again (same alert id), never loses it
        now = datetime.now(UTC)
        late = overdue(archive, now, after)
        send_now(alert_emits([overdue_alert(s, "raised", now) for s in late]))
        if late:
            mark_alerted(archive, late, now)
        return len(late)
