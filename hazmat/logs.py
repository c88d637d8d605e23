"""Structured logs: one JSON object per line, with the event id, plate and rule id as fields.

Pass context with ``extra={"event_id": ..., "plate": ..., "rule_id": ...}``; those keys
(and any other ``extra``) become fields of the line, never prose inside the message.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def setup(level: int | str = logging.WARNING, stream: TextIO | None = None) -> None:
    """Send every ``hazmat*`` log line as JSON to ``stream`` (stderr by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # kafka-python logs every lost connection at ERROR; the caller reports what matters
    logging.getLogger("kafka").setLevel(logging.DEBUG if level == logging.DEBUG else logging.CRITICAL)
