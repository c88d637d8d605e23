"""What a demo run leaves for the next: names it may delete, its lock, its open flows, a stale worker pid."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from hazmat.archive import open_archive
from hazmat.checking import archive_entry, judge
from hazmat.cityconfig import CITIES_DIR, load_city
from hazmat.demo_run import (
    CLOSED_HOW,
    DemoBusyError,
    DemoHome,
    RunState,
    close_open_flows,
    demo_names,
    event_id,
    new_run_id,
    stop_stale_worker,
    topic_prefix,
)


def test_run_ids_prefixes_and_event_ids_are_recognisable():
    run = new_run_id()
    assert len(run) == 8
    assert int(run, 16) >= 0
    assert new_run_id() != run
    assert topic_prefix("", run) == f"demo-{run}."
    assert topic_prefix("t1.", run) == f"t1.demo-{run}."
    assert event_id(run, "hrb-0701") == f"demo-{run}-hrb-0701"


def test_only_demo_runs_topics_and_groups_are_picked_and_never_the_current_ones():
    names = [
        "hazmat.checkins",  # a deployment's own topic on the same broker
        "demo.hazmat.checkins",  # the old fixed demo prefix: not a run of ours
        "demo-0badcafe.hazmat.checkins",
        "demo-0badcafe.hazmat-checker-vehicle_monitor-changelog",
        "demo-0badcafe.hazmat-checker",  # the faust consumer group of that run
        "demo-0badcafe.hazmat-checker-quix",  # the Quix one, and its state's changelog
        "changelog__demo-0badcafe.hazmat-checker-quix--demo-0badcafe.hazmat.checkins--default",
        "changelog__demo-12345678.hazmat-checker-quix--demo-12345678.hazmat.checkins--default",
        "changelog__other.hazmat-checker-quix--other.hazmat.checkins--default",
        "demo-12345678.hazmat.alerts",
        "demo-notahexx.hazmat.alerts",
        "t1.demo-0badcafe.hazmat.checkins",
        "__consumer_offsets",
    ]
    assert demo_names(names, "", keep="demo-12345678.") == [
        "changelog__demo-0badcafe.hazmat-checker-quix--demo-0badcafe.hazmat.checkins--default",
        "demo-0badcafe.hazmat-checker",
        "demo-0badcafe.hazmat-checker-quix",
        "demo-0badcafe.hazmat-checker-vehicle_monitor-changelog",
        "demo-0badcafe.hazmat.checkins",
    ]
    assert demo_names(names, "t1.") == ["t1.demo-0badcafe.hazmat.checkins"]


def test_a_second_demo_on_the_same_home_is_refused_until_the_first_ends(tmp_path):
    with DemoHome(tmp_path) as first:
        first.save(RunState(run_id="0badcafe", pid=os.getpid(), worker_pid=123, broker="4567"))
        with pytest.raises(DemoBusyError, match=rf"pid {os.getpid()}\) is running on {tmp_path}"):
            DemoHome(tmp_path).__enter__()
    with DemoHome(tmp_path) as second:
        assert second.previous is not None
        assert second.previous.worker_pid == 123
        assert second.adopts(4567)
        assert not second.adopts(4568)
        second.forget()
    with DemoHome(tmp_path) as third:
        assert third.previous is None
        assert not third.adopts(4567)


def test_a_killed_demos_lock_is_free_for_the_next(tmp_path):
    code = (
        "import os, sys; from pathlib import Path; from hazmat.demo_run import DemoHome;"
        "h = DemoHome(Path(sys.argv[1])).__enter__(); print('locked', flush=True); os.kill(os.getpid(), 9)"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=False)
    assert proc.stdout.strip() == "locked"
    assert proc.returncode == -9
    with DemoHome(tmp_path):
        pass


def test_a_state_file_that_is_not_json_is_no_previous_run(tmp_path):
    (tmp_path / "demo.json").write_text("{not json", encoding="utf-8")
    with DemoHome(tmp_path) as home:
        assert home.previous is None


def test_a_pid_that_is_not_a_hazmat_worker_is_never_stopped():
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        assert stop_stale_worker(None) is False
        assert stop_stale_worker(sleeper.pid) is False
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_stale_worker_is_stopped_with_its_group():
    # a stand-in with a worker's command line (python -m hazmat worker), leading its own group
    fake = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "-m", "hazmat", "worker"], start_new_session=True
    )
    try:
        deadline = time.monotonic() + 10
        while b"worker" not in Path(f"/proc/{fake.pid}/cmdline").read_bytes():  # empty for a moment after exec
            assert time.monotonic() < deadline, "the stand-in never showed its command line"
            time.sleep(0.01)
        assert stop_stale_worker(fake.pid) is True
        assert fake.wait(timeout=5) is not None
    finally:
        if fake.poll() is None:
            fake.kill()
            fake.wait()


def test_only_open_flows_of_demo_runs_are_closed(tmp_path):
    """A run's own, every run's, and the samples' own (id and time as written, from before runs had ids)."""
    harbin = load_city(CITIES_DIR / "harbin")
    settings = harbin.rule_settings()
    lines = (CITIES_DIR / "harbin" / "samples" / "morning-checkins.jsonl").read_text(encoding="utf-8").splitlines()
    written = {r["event_id"]: datetime.fromisoformat(r["occurred_at"]) for r in map(json.loads, lines)}
    first, third = json.loads(lines[0]), json.loads(lines[2])
    assert (first["event_id"], third["event_id"]) == ("hrb-0701", "hrb-0703")
    checkins = [
        first,  # the old demo's, as written
        {**third, "occurred_at": "2026-11-27T08:00:00+08:00"},  # a real check-in that happens to share an id
        {**first, "event_id": "demo-0badcafe-hrb-0701"},
        {**first, "event_id": "demo-12345678-hrb-0701"},
    ]
    entries = []
    for record in checkins:
        raw = json.dumps(record, ensure_ascii=False)
        outcome = judge(1, raw, settings)
        assert outcome.checkin is not None
        assert outcome.verdict is not None
        entries.append(archive_entry(raw, outcome.checkin, outcome.verdict, settings))
    path = tmp_path / "archive.sqlite"
    archive = open_archive(path)
    archive.record(entries)
    archive.close()

    assert close_open_flows(path, run_id="12345678") == ["f-demo-12345678-hrb-0701-UN1005"]
    assert close_open_flows(path) == ["f-demo-0badcafe-hrb-0701-UN1005"]
    assert close_open_flows(path, samples=written) == ["f-hrb-0701-UN1005"]
    assert close_open_flows(path, samples=written) == []
    archive = open_archive(path)
    try:
        how = {s.flow.checkin_event_id: s.closed_how for s in archive.flows()}
    finally:
        archive.close()
    assert how == {
        "hrb-0701": CLOSED_HOW,
        "hrb-0703": None,
        "demo-0badcafe-hrb-0701": CLOSED_HOW,
        "demo-12345678-hrb-0701": CLOSED_HOW,
    }
