"""Judging check-ins without a broker: split input into records, decode, evaluate.

``hazmat check`` reads and judges here; the stream processors judge with the same rules
(``hazmat.streams.handlers``) and share ``archive_entry`` and ``log_verdict``, so both give
the same answer and the same archive record for the same bytes.
"""

from __future__ import annotations

import json
import logging
import os
import select
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

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


#: bytes asked of the input per read; a read returns what is there, up to this
READ_CHUNK = 1 << 16


def _lines(stream: BinaryIO) -> Iterator[tuple[int, bytes] | None]:
    """The input's lines, numbered from 1, each with its line ending; ``None`` before a read that would wait.

    Reads what is available (never waiting for a full buffer), so a producer feeding a pipe
    line by line gets its verdicts as it goes: the ``None`` tells the caller to write out
    what it holds before the read blocks. A regular file is always ready.
    """
    read = getattr(stream, "read1", stream.read)
    ready = _readiness(stream)
    number = 0
    head: list[bytes] = []  # an unfinished line, in pieces (joined once it ends, not per read)
    while True:
        if not ready():
            yield None
        data = read(READ_CHUNK)
        if not data:
            break
        if head and head[-1].endswith(b"\r") and not data.startswith(b"\n"):
            number += 1  # a lone "\r" ended that line
            yield number, b"".join(head)
            head.clear()
        lines = data.splitlines(keepends=True)  # "\n", "\r\n" or "\r", as text files have them
        tail = lines.pop() if not lines[-1].endswith(b"\n") else None  # unfinished, or "\r" before a "\n"?
        if lines and head:
            head.append(lines[0])
            lines[0] = b"".join(head)
            head.clear()
        for line in lines:
            number += 1
            yield number, line
        if tail is not None:
            head.append(tail)
    if head:
        yield number + 1, b"".join(head)


def _readiness(stream: BinaryIO) -> Callable[[], bool]:
    """Whether a read of ``stream`` would return at once (pipes and terminals may wait)."""
    try:
        fd = stream.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return lambda: True
    except (OSError, ValueError):  # io.UnsupportedOperation is both: an in-memory stream
        return lambda: True
    return lambda: bool(select.select([fd], [], [], 0)[0])


def _blank(line: bytes) -> bool:
    text = line.strip()
    # a line of only non-ASCII white space (an ideographic space, say) is blank too
    return not text or (text[0] > 0x7F and not text.decode("utf-8", "replace").strip())


def _is_json(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:  # UnicodeDecodeError too
        return False
    return True


def _strip_end(line: bytes) -> bytes:
    if line.endswith(b"\n"):
        line = line[:-1]
    return line[:-1] if line.endswith(b"\r") else line


#: a single pretty-printed record larger than this is not one check-in (the API takes 64 KiB)
DOCUMENT_MAX = 1024 * 1024


class Records:
    """The input split into records, read as it comes: iterate for ``(line, raw)`` pairs.

    One JSON object may span many lines (a pretty-printed file); JSON Lines has one object
    per line. Input whose first or second non-blank line is a whole JSON value, or that has
    a single non-blank line, is read as JSON Lines (so a big file whose first line is broken
    gives an error for that line and goes on); anything else as one document, so a broken
    pretty-printed object gives one error, not one per line. Only JSON Lines is streamed;
    one document is read whole. Iteration also yields ``None`` when the input has nothing
    ready (see :func:`_lines`).

    ``jsonl`` (whether the input is JSON Lines rather than a single record) is known once
    the object is made, which reads up to the second record; with ``tell_jsonl=False`` (the
    caller prints JSON anyway) it stays False and a first record that is JSON is handed out
    without waiting for a second, so a producer writing one line at a time is answered at once.
    """

    def __init__(self, stream: BinaryIO, *, tell_jsonl: bool = True) -> None:
        self._lines = _lines(stream)
        self._head: list[tuple[int, bytes]] = []  # the lines read to decide the format
        self.jsonl = False
        self._document: tuple[int, bytes] | None = None
        first = self._next_non_blank()
        if first is None:
            return
        if _is_json(first[1]):
            if tell_jsonl:
                self.jsonl = self._next_non_blank() is not None
            return
        second = self._next_non_blank()
        if second is None:  # a single line: a record of its own
            return
        if _is_json(second[1]) or not first[1].lstrip().startswith(b"{"):
            self.jsonl = True  # JSON Lines whose first lines are broken: each is an error of its own
            return
        # one pretty-printed record; one larger than any check-in is JSON Lines after all
        size = sum(len(line) for _, line in self._head)
        for item in self._lines:
            if item is None:
                continue
            self._head.append(item)
            size += len(item[1])
            if size > DOCUMENT_MAX:
                self.jsonl = True
                return
        self._document = (first[0], b"".join(line for _, line in self._head))

    def _next_non_blank(self) -> tuple[int, bytes] | None:
        for item in self._lines:
            if item is not None:
                self._head.append(item)
                if not _blank(item[1]):
                    return item
        return None

    def __iter__(self) -> Iterator[tuple[int, bytes] | None]:
        if self._document is not None:
            yield self._document
            return
        for number, line in self._head:
            if not _blank(line):
                yield number, _strip_end(line)
        self._head.clear()
        for item in self._lines:
            if item is None:
                yield None
            elif not _blank(item[1]):
                yield item[0], _strip_end(item[1])


def judge(line: int, raw: str | bytes, settings: RuleSettings) -> Outcome:
    """Decode one record and judge it; invalid input becomes an outcome with field-level errors.

    ``raw`` may be bytes as read: bytes that are not UTF-8 are an error of that record alone.
    """
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        checkin = decode(CheckIn, raw)
    except InvalidEvent as exc:
        return Outcome(line=line, raw=text, errors=exc.errors)
    return Outcome(line=line, raw=text, checkin=checkin, verdict=evaluate(checkin, settings))


#: how a terminal shows a verdict (rich style, words), for ``hazmat check`` and the demo alike
VERDICT_WORDS = {"load": ("green", "LOAD   准予装货"), "refuse": ("bold red", "REFUSE 不予装货")}


def log_verdict(log: logging.Logger, verdict: Verdict, *, load_level: int = logging.INFO) -> None:
    """One structured line per verdict; refusals always at INFO (someone must act on them)."""
    level = logging.INFO if verdict.verdict == "refuse" else load_level
    if not log.isEnabledFor(level):  # the usual case: skip building the fields of a line nobody sees
        return
    log.log(
        level,
        "judged",
        extra={
            "event_id": verdict.checkin_event_id,
            "plate": verdict.plate,
            "verdict": verdict.verdict,
            "rule_ids": [f.rule_id for f in verdict.findings],
        },
    )


def archive_entry(
    raw: str, checkin: CheckIn, verdict: Verdict, settings: RuleSettings, *, verdict_json: str = ""
) -> Entry:
    """What the archive keeps of a judged check-in: its text, site, verdict and the flows it opens.

    ``verdict_json``: the verdict's JSON when the caller has made it already (for its output).
    """
    flows = tuple(opened_by(checkin, verdict, settings.high_hazard_un_numbers))
    return Entry(raw=raw, site_id=checkin.site_id, verdict=verdict, flows=flows, verdict_json=verdict_json)
