"""The archive as a Quix sink: a checkpoint's check-ins and verdicts in one archive transaction.

Quix flushes sinks before it commits the checkpoint's offsets (or its Kafka transaction,
exactly-once), so a crash before the write means redelivery, and the archive is idempotent
by event id. Under at-least-once a verdict may be on its topic up to one checkpoint
(``HAZMAT_COMMIT_INTERVAL_S``) before it is archived; under exactly-once a ``read_committed``
reader never sees it before.
"""

from __future__ import annotations

import logging
from operator import methodcaller
from typing import Any

from quixstreams.sinks import BaseSink

from hazmat.archive import Entry

from . import resources
from .agents.send import Emit

log = logging.getLogger("hazmat.streams.archive")


class ArchiveSink(BaseSink):
    def __init__(self) -> None:
        super().__init__()
        self._entries: list[Entry] = []

    def add(self, value: Emit, key: Any, timestamp: int, headers: Any, topic: str, partition: int, offset: int) -> None:
        if value.entry is not None:
            self._entries.append(value.entry)

    def flush(self) -> None:
        if not self._entries:
            return
        entries, self._entries = self._entries, []
        added = resources.in_archive(methodcaller("record", entries), what="record", batch=len(entries))
        log.debug("archived", extra={"entries": len(entries), "added": added})
