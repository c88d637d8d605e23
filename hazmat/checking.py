"""Judging check-ins without a broker: split input into records, decode, evaluate.

Used by ``hazmat check`` and by the stream processors alike, so both give the same answer
for the same bytes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from hazmat.archive import Entry
from hazmat.events import CheckIn, InvalidEvent, Verdict, decode
from hazmat.flows import opened_by
from hazmat.rules import RuleSettings, evaluate


@dataclass(frozen=True)
class Outcome:
    """One input record: its line number, the raw text, and a verdict or the errors."""

    line: int
    raw: str
    checkin: CheckIn | None = None
    verdict: Verdict | None = None
    errors: list[dict[str, Any]] | None = None

    def as_json(self) -> dict[str, Any]:
        if self.verdict is not None:
            return self.verdict.model_dump(mode="json")
        return {"error": "invalid_event", "line": self.line, "errors": self.errors}


def split_records(text: str) -> tuple[list[tuple[int, str]], bool]:
    """Split input into ``(line, text)`` records; the flag says whether it was JSON Lines.

    One JSON object may span many lines (a pretty-printed file); JSON Lines has one object
    per line. A file whose first non-blank line is a whole JSON value, or that has a single
    non-blank line, is read as JSON Lines; anything else as one document, so a broken
    pretty-printed object gives one error, not one per line.
    """
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        return [], False
    if len(lines) == 1:
        return lines, False
    try:
        json.loads(lines[0][1])
    except ValueError:
        return [(lines[0][0], text)], False
    return lines, True


def judge(line: int, raw: str, settings: RuleSettings) -> Outcome:
    """Decode one record and judge it; invalid input becomes an outcome with field-level errors."""
    try:
        checkin = decode(CheckIn, raw)
    except InvalidEvent as exc:
        return Outcome(line=line, raw=raw, errors=exc.errors)
    return Outcome(line=line, raw=raw, checkin=checkin, verdict=evaluate(checkin, settings))


def log_verdict(log: logging.Logger, verdict: Verdict, *, load_level: int = logging.INFO) -> None:
    """One structured line per verdict; refusals always at INFO (someone must act on them)."""
    log.log(
        logging.INFO if verdict.verdict == "refuse" else load_level,
        "judged",
        extra={
            "event_id": verdict.checkin_event_id,
            "plate": verdict.plate,
            "verdict": verdict.verdict,
            "rule_ids": [f.rule_id for f in verdict.findings],
        },
    )


def archive_entry(raw: str, checkin: CheckIn, verdict: Verdict, settings: RuleSettings) -> Entry:
    """What the archive keeps of a judged check-in: its text, site, verdict and the flows it opens."""
    flows = tuple(opened_by(checkin, verdict, settings.high_hazard_un_numbers))
    return Entry(raw=raw, site_id=checkin.site_id, verdict=verdict, flows=flows)
