"""``hazmat check`` on big inputs: streamed in input order, archived in batches, memory flat.

No timings here (benchmarks/bench_check_cli.py measures speed and memory); these tests
prove the behaviour: verdicts come out while the input is still open, in the order of the
input, every valid check-in is archived exactly once on both backends, and a bad line or
a stop half-way loses nothing that was judged.
"""

from __future__ import annotations

import io
import json
import os
import queue
import sqlite3
import subprocess
import sys
import threading
import time
import uuid

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import hazmat.checking as checking
from hazmat import cli
from hazmat.archivewriter import ArchiveError, ArchiveWriter
from hazmat.checking import Records, archive_entry, judge
from hazmat.cityconfig import load_city
from tests.helpers import REPO

SAMPLES = REPO / "config" / "cities" / "datong" / "samples" / "morning-checkins.jsonl"
SETTINGS = load_city("datong").rule_settings()
DEADLINE_S = 60
runner = CliRunner()


def checkins(n: int, tag: str = "s") -> list[str]:
    """``n`` JSON Lines from the morning samples (loads, refusals, high-hazard flows), unique event ids."""
    samples = [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = []
    for i in range(n):
        data = samples[i % len(samples)]
        out.append(json.dumps({**data, "event_id": f"{tag}-{i}-{data['event_id']}"}, ensure_ascii=False))
    return out


def expected_rows(lines: list[str]) -> dict[str, int]:
    """What the archive must hold after judging ``lines``, from judging them here."""
    rows = {"checkins": 0, "checkin_rules": 0, "flows": 0}
    for n, raw in enumerate(lines, start=1):
        o = judge(n, raw, SETTINGS)
        if o.verdict is None or o.checkin is None:
            continue
        rows["checkins"] += 1
        rows["checkin_rules"] += len({f.rule_id for f in o.verdict.findings})
        rows["flows"] += len(archive_entry(o.raw, o.checkin, o.verdict, SETTINGS).flows)
    return rows


def run(*args: str, stdin: str | None = None):
    return runner.invoke(cli.app, list(args), input=stdin)


def outputs(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(params=["sqlite", "postgresql"])
def archive_rows(request, tmp_path, monkeypatch):
    """Points ``hazmat check`` at a fresh archive on each backend; returns a row counter for it."""
    if request.param == "sqlite":
        path = tmp_path / "archive.sqlite"
        monkeypatch.setenv("HAZMAT_ARCHIVE", str(path))

        def count(table: str) -> int:
            with sqlite3.connect(path) as db:
                return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

        return count
    base = request.getfixturevalue("postgres_url")
    schema = f"t{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {schema}")
    url = f"{base}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("HAZMAT_ARCHIVE", url)

    def count_pg(table: str) -> int:
        with psycopg.connect(url, autocommit=True) as db:
            return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]

    return count_pg


def test_outputs_follow_the_input_order_across_batches(monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "CHECK_BATCH", 7)  # many batches, and the writer process from the second on
    lines = checkins(60)
    lines[23] = lines[23].replace('"vehicle": {"plate": "', '"vehicle": {"plate": "X', 1)  # invalid, mid-batch
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("check", str(path))
    assert result.exit_code == 2, result.output
    out = outputs(result.stdout)
    assert len(out) == len(lines)
    assert out[23]["error"] == "invalid_event"
    assert out[23]["line"] == 24
    expected = [json.loads(raw)["event_id"] for raw in lines]
    assert [o.get("checkin_event_id") for o in out[:23] + out[24:]] == expected[:23] + expected[24:]


def test_verdicts_stream_out_while_the_input_is_still_open():
    """A real process on a pipe: line by line it answers each line before the next is written;
    then a block of 2,500 lines (batches, the writer process) is answered before stdin closes."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hazmat", "check", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    answers: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [answers.put(line) for line in proc.stdout], daemon=True)  # type: ignore[union-attr]
    reader.start()
    deadline = time.monotonic() + DEADLINE_S

    def answer() -> dict:
        return json.loads(answers.get(timeout=max(0.0, deadline - time.monotonic())))

    try:
        one_by_one = checkins(3, tag="step")
        for raw in one_by_one:
            proc.stdin.write(raw + "\n")
            proc.stdin.flush()
            assert answer()["checkin_event_id"] == json.loads(raw)["event_id"]  # before the next line exists
        block = checkins(2_500, tag="block")
        writer = threading.Thread(
            target=lambda: (proc.stdin.writelines(f"{raw}\n" for raw in block), proc.stdin.flush())
        )  # type: ignore[union-attr]
        writer.start()
        got = [answer()["checkin_event_id"] for _ in block]
        assert got == [json.loads(raw)["event_id"] for raw in block]
        assert proc.poll() is None  # all answered, and the command still waits for more input
        writer.join(timeout=DEADLINE_S)
    finally:
        proc.stdin.close()
        code = proc.wait(timeout=DEADLINE_S)
        stderr = proc.stderr.read()  # type: ignore[union-attr]
        proc.stdout.close()
        proc.stderr.close()  # type: ignore[union-attr]
    assert code == 0, stderr
    with sqlite3.connect(os.environ["HAZMAT_ARCHIVE"]) as db:
        assert db.execute("SELECT count(*) FROM checkins").fetchone()[0] == 2_503


def test_a_rerun_of_a_big_file_adds_no_rows(archive_rows, tmp_path):
    lines = checkins(2_300)  # the first batch archived in process, the others by the writer process
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = expected_rows(lines)
    assert expected["checkin_rules"] > 0
    assert expected["flows"] > 0
    for _ in range(2):
        result = run("check", str(path))
        assert result.exit_code == 0, result.output
        assert len(outputs(result.stdout)) == len(lines)
        assert {table: archive_rows(table) for table in expected} == expected


def test_an_invalid_line_among_many_gives_exit_2_and_every_valid_one_is_archived(archive_rows, tmp_path):
    lines = checkins(1_500)
    lines[1_234] = lines[1_234].replace('"occurred_at": "2026-11-26T', '"occurred_at": "26-11-2026T', 1)
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("check", str(path))
    assert result.exit_code == 2
    [error] = [o for o in outputs(result.stdout) if "error" in o]
    assert error["line"] == 1_235
    assert error["errors"][0]["loc"] == ["occurred_at"]
    assert archive_rows("checkins") == len(lines) - 1 == expected_rows(lines)["checkins"]


def test_what_was_judged_before_a_crash_is_archived_and_written(monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "CHECK_BATCH", 10)
    lines = checkins(35)
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def judge_until_line_30(line, raw, settings):
        if line == 30:
            raise RuntimeError("a bug in a rule")
        return judge(line, raw, settings)

    monkeypatch.setattr(cli, "judge", judge_until_line_30)
    result = run("check", str(path))
    assert isinstance(result.exception, RuntimeError)
    assert [o["checkin_event_id"] for o in outputs(result.stdout)] == [json.loads(r)["event_id"] for r in lines[:29]]
    with sqlite3.connect(os.environ["HAZMAT_ARCHIVE"]) as db:
        assert db.execute("SELECT count(*) FROM checkins").fetchone()[0] == 29


def test_an_archive_that_cannot_be_opened_is_exit_1_naming_it(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("HAZMAT_ARCHIVE", str(blocker / "archive.sqlite"))  # under a file: cannot exist
    result = run("check", str(SAMPLES))
    assert result.exit_code == 1
    assert "archive error" in result.stderr
    assert str(blocker) in result.stderr
    assert result.stdout == ""


def test_the_writer_process_answers_each_batch_or_says_why_not(tmp_path):
    entries = []
    for n, raw in enumerate(checkins(30), start=1):
        o = judge(n, raw, SETTINGS)
        assert o.verdict is not None
        assert o.checkin is not None
        entries.append(archive_entry(o.raw, o.checkin, o.verdict, SETTINGS))
    writer = ArchiveWriter(tmp_path / "archive.sqlite")
    try:
        writer.submit(entries[:20])
        writer.submit(entries[10:])  # ten of them again
        assert (writer.wait(), writer.wait()) == (20, 10)
    finally:
        writer.close()
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    broken = ArchiveWriter(blocker / "archive.sqlite")
    try:
        broken.submit(entries)
        with pytest.raises(ArchiveError, match="cannot open the archive"):
            broken.wait()
    finally:
        broken.close()


def test_summary_counts_every_line_of_a_big_input(monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "SUMMARY_ROWS", 100)  # the table is rendered in parts, never kept whole
    lines = checkins(250)
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("check", str(path), "--summary", "--no-archive")
    assert result.exit_code == 0
    verdicts = [o["verdict"] for o in outputs(result.stdout)]
    loads, refused = verdicts.count("load"), verdicts.count("refuse")
    assert f"250 check-ins: {loads} load, {refused} refuse, 0 invalid" in result.stderr
    assert result.stderr.count("check-ins 装货前查验") == 1  # one title, over three parts


# --- reading the input -------------------------------------------------------------------


def records(data: bytes, *, tell_jsonl: bool = True) -> tuple[list[tuple[int, bytes]], bool]:
    read = Records(io.BytesIO(data), tell_jsonl=tell_jsonl)
    return [item for item in read if item is not None], read.jsonl


def test_json_lines_one_object_and_a_pretty_printed_document(monkeypatch):
    monkeypatch.setattr(checking, "READ_CHUNK", 3)  # lines cut across reads
    assert records(b'{"a": 1}\r\n\n  \n{"b": 2}\n') == ([(1, b'{"a": 1}'), (4, b'{"b": 2}')], True)
    assert records(b'\n{"a": 1}\n') == ([(2, b'{"a": 1}')], False)
    pretty = b'\n{\n  "a": 1\n}\n'
    assert records(pretty) == ([(2, pretty)], False)
    assert records("{}\n\u3000\n{}".encode()) == ([(1, b"{}"), (3, b"{}")], True)  # an ideographic space is blank
    assert records(b"") == ([], False)
    # a broken first line of a JSON Lines file is an error of its own, not the whole file as one document
    assert records(b'{"a": \n{"b": 2}\n') == ([(1, b'{"a": '), (2, b'{"b": 2}')], True)
    assert records(b'\xff\n{"b": 2}\n') == ([(1, b"\xff"), (2, b'{"b": 2}')], True)
    # two broken lines first: still JSON Lines (a document starts with "{"), nothing read whole
    assert records(b'bad1\nbad2\n{"c": 3}\n') == ([(1, b"bad1"), (2, b"bad2"), (3, b'{"c": 3}')], True)


def test_a_document_larger_than_any_check_in_is_read_as_json_lines(monkeypatch):
    monkeypatch.setattr(checking, "DOCUMENT_MAX", 40)
    data = b'{"a": \n"b"\n' + b'{"x": 1}\n' * 10
    found, jsonl = records(data)
    assert jsonl
    assert [n for n, _ in found] == list(range(1, 13))


def test_bytes_that_are_not_utf8_are_an_error_of_their_line_only():
    outcome = judge(7, b'{"event_id": "\xff"}', SETTINGS)
    assert outcome.verdict is None
    assert outcome.line == 7
    assert "not UTF-8" in outcome.errors[0]["msg"]  # type: ignore[index]


@given(st.lists(st.tuples(st.text(alphabet="ab{} 中", max_size=6), st.sampled_from(["\n", "\r\n", "\r"]))))
def test_lines_cut_at_any_read_size_are_the_lines_of_the_text(parts):
    text = "".join(body + end for body, end in parts)
    for size in (1, 2, 5):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(checking, "READ_CHUNK", size)
            got = [item for item in checking._lines(io.BytesIO(text.encode())) if item is not None]
        assert got == [(n, line.encode()) for n, line in enumerate(text.splitlines(keepends=True), start=1)]
