"""Check-ins → verdicts (+ archive entry) and alerts; anything invalid → dead letter + ``invalid_event`` alert.

A passed load is also the plate's current load in its state (what the vehicle carries and its
open high-hazard flows), which its pings and deliveries read. The archive entry rides on the
verdict's :class:`Emit` to the archive sink, which writes a checkpoint's entries in one
transaction before the checkpoint commits.
"""

from __future__ import annotations

import logging
from datetime import datetime

from hazmat.checking import log_verdict
from hazmat.monitor.state import LoadInfo

from .. import handlers, resources
from ..state import LOAD, PlateState
from .send import Emit, emit, emits

log = logging.getLogger("hazmat.streams.checkins")


def handle(raw: bytes | None, source: handlers.Source, now: datetime, st: PlateState) -> list[Emit]:
    try:
        h = handlers.handle_checkin(raw, source, resources.blacklist().settings, now)
    except Exception as exc:  # a bug must not drop the message: it goes to the DLQ with the reason
        log.exception("check-in handling failed", extra={"offset": source.offset, "partition": source.partition})
        h = handlers.internal_error(raw, source, exc, now)
    if h.verdict is None:
        log.warning("dead letter", extra={"partition": source.partition, "offset": source.offset, "errors": h.errors})
        return emits(h.outputs)
    log_verdict(log, h.verdict, load_level=logging.DEBUG)  # loads at DEBUG: thousands a second
    remember_load(h, st)
    first, *rest = h.outputs  # the verdict (it carries the archive entry), then its alerts
    return [emit(first, h.entry), *emits(rest)]


def remember_load(h: handlers.Handled, st: PlateState) -> None:
    """A ``load`` verdict becomes the plate's current load (its flows added to those still open)."""
    if h.checkin is None or h.verdict is None or h.verdict.verdict != "load" or h.entry is None:
        return
    try:
        opened = [f.flow_id for f in h.entry.flows]
        earlier = LoadInfo.from_json(st.get(LOAD))
        st.set(LOAD, LoadInfo.after_load(h.checkin, h.verdict, opened, earlier).to_json())
    except Exception:  # a bug here must not stop judging: the verdict is out, the monitor misses one load
        log.exception("load not recorded", extra={"plate": h.verdict.plate, "event_id": h.checkin.event_id})
