"""The README's first command: ``hazmat demo`` end to end, as a new user runs it, again and again.

Three runs on one fresh home directory, the second interrupted (SIGINT, as Ctrl-C) once its
trip has started: each judges the same, raises the same kinds of alert and no
``flow_overdue`` (not even for the open flows an older demo left in the archive), and the
last leaves no broker, worker, demo topic or open flow behind.
The home has nothing of hazmat-checker but links to the Kafka jars and road graphs already
in the user's cache, so the test neither fetches Kafka from Maven nor rebuilds the graph.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hazmat import broker
from hazmat.archive import open_archive
from hazmat.checking import archive_entry, judge
from hazmat.cityconfig import CITIES_DIR, load_city

pytestmark = pytest.mark.kafka

RUN_TIMEOUT_S = 300
HARBIN = ZoneInfo("Asia/Shanghai")
VERDICT = re.compile(r"^(LOAD|REFUSE) +\S+ (\S+)  demo-[0-9a-f]{8}-(\S+)  (.*)$")
ALERT = re.compile(r"^ALERT  (\w+)( \(cleared\))? ")
#: alerts of the check-ins, all in before the trip starts (so also in the interrupted run)
CHECKIN_ALERTS = {("checkin_refused", "raised"), ("out_of_province", "raised"), ("invalid_event", "raised")}
TRIP_ALERTS = {
    ("zone_entry", "raised"),
    ("zone_entry", "cleared"),
    ("route_deviation", "raised"),
    ("route_deviation", "cleared"),
    ("unchecked_movement", "raised"),
}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    days: tuple[date, date]  # Harbin's date when the run started and when it ended

    def morning(self) -> date:
        """The day the demo played (its first line names it)."""
        m = re.search(r"a morning in 哈尔滨 \(Harbin\), (\d{4}-\d{2}-\d{2})", self.stderr)
        assert m, self.stderr
        return date.fromisoformat(m[1])

    def verdicts(self) -> set[tuple[str, str, str, str]]:
        """(sample id, plate, verdict, rule ids) of each verdict line."""
        found = set()
        for line in self.stdout.splitlines():
            if m := VERDICT.match(line):
                found.add((m[3], m[2], m[1], m[4].strip()))
        return found

    def alerts(self) -> set[tuple[str, str]]:
        return {
            (m[1], "cleared" if m[2] else "raised") for line in self.stdout.splitlines() if (m := ALERT.match(line))
        }

    def worker_pid(self) -> int:
        m = re.search(r"worker started \(pid (\d+)", self.stderr)
        assert m, self.stderr
        return int(m[1])


@pytest.fixture
def new_user(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The environment of a user with a fresh home (its cache holding only links to Kafka's jars and the graphs)."""
    jars = broker.fetch(progress=print).parent  # the real cache: fetched once per machine
    graphs = broker.cache_root() / "graphs"
    graphs.mkdir(parents=True, exist_ok=True)
    home = tmp_path / "home"
    cache = home / ".cache" / "hazmat-checker"
    cache.mkdir(parents=True)
    (cache / jars.name).symlink_to(jars)
    (cache / "graphs").symlink_to(graphs)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAZMAT_", "XDG_", "KAFKA_", "APP_"))}
    env["HOME"] = str(home)
    return env, home


def _demo(env: dict[str, str], cwd: Path, *, interrupt_when: str | None = None) -> Run:
    """Run ``hazmat demo``; with ``interrupt_when``, send SIGINT once that text shows on its stderr."""
    out: list[str] = []
    err: list[str] = []
    started = datetime.now(HARBIN).date()
    with subprocess.Popen(
        [sys.executable, "-m", "hazmat", "demo"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        watchdog = threading.Timer(RUN_TIMEOUT_S, proc.kill)
        watchdog.start()
        reader = threading.Thread(target=lambda: out.append(proc.stdout.read()))  # type: ignore[union-attr]
        reader.start()
        try:
            for line in proc.stderr:
                err.append(line)
                if interrupt_when and interrupt_when in line:
                    proc.send_signal(signal.SIGINT)
                    interrupt_when = None
            reader.join()
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
        returncode = proc.wait()
    return Run(returncode, "".join(out), "".join(err), (started, datetime.now(HARBIN).date()))


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _as_the_old_demo_left_it(archive_path: Path) -> None:
    """The samples archived as written, their flows open: what a demo from before run ids left behind."""
    harbin = load_city(CITIES_DIR / "harbin")
    settings = harbin.rule_settings()
    lines = (CITIES_DIR / "harbin" / "samples" / "morning-checkins.jsonl").read_text(encoding="utf-8").splitlines()
    entries = []
    for n, raw in enumerate(lines, start=1):
        outcome = judge(n, raw, settings)
        assert outcome.checkin is not None
        assert outcome.verdict is not None
        entries.append(archive_entry(raw, outcome.checkin, outcome.verdict, settings))
    archive = open_archive(archive_path)
    try:
        archive.record(entries)
    finally:
        archive.close()


def test_the_demo_runs_the_same_every_time_also_after_a_ctrl_c(new_user, tmp_path):
    env, home = new_user
    broker_home = home / ".cache" / "hazmat-checker" / "broker"
    archive_path = home / ".local" / "share" / "hazmat-checker" / "archive-harbin.sqlite"
    _as_the_old_demo_left_it(archive_path)  # days-old open flows: overdue at a worker's first look

    first = _demo(env, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "11 verdicts (4 load, 7 refuse)" in first.stderr
    assert ("hrb-0702", "黑A23456", "REFUSE", "TNK-001") in first.verdicts()
    assert ("hrb-0703", "冀A34567", "LOAD", "OOP-001(warn)") in first.verdicts()
    assert len(first.verdicts()) == 11
    assert first.alerts() == CHECKIN_ALERTS | TRIP_ALERTS
    assert "avoided: rs-daoli-nangang" in first.stdout
    assert re.search(r"DEAD LETTER demo-[0-9a-f]{8}\.hazmat\.checkins", first.stdout)
    assert "3 high-hazard flows closed" in first.stderr
    assert (tmp_path / "out" / "demo-route.html").is_file()
    assert broker.status(broker_home) is None, "the demo must stop the broker it started"

    second = _demo(env, tmp_path, interrupt_when="3. trip")
    assert second.returncode == 130, second.stdout + second.stderr
    assert "interrupted; stopping" in second.stderr
    assert "worker and broker stopped" in second.stderr
    assert second.verdicts() == first.verdicts()
    assert CHECKIN_ALERTS <= second.alerts() <= first.alerts()
    assert broker.status(broker_home) is None
    assert _gone(second.worker_pid())

    third = _demo(env, tmp_path)
    assert third.returncode == 0, third.stdout + third.stderr
    assert third.verdicts() == first.verdicts()
    assert third.alerts() == first.alerts()
    assert broker.status(broker_home) is None
    for run in (first, second, third):
        assert "flow_overdue" not in run.stdout
        assert run.morning() in run.days, "the demo plays today's morning in Harbin"

    # nothing left: no open flow in the archive, no demo topic on the broker, no worker folder in the cwd
    archive = open_archive(archive_path)
    try:
        flows = archive.flows()
    finally:
        archive.close()
    old = {s.flow.flow_id: s.closed_how for s in flows if not s.flow.checkin_event_id.startswith("demo-")}
    assert old == {f"f-hrb-{n}": "demo_ended" for n in ("0701-UN1005", "0703-UN1005", "0707-UN1017")}
    runs = [s for s in flows if s.flow.checkin_event_id.startswith("demo-")]
    assert len(runs) == 9
    # loaded today, so no flow could be overdue (24 h) during the runs, whatever the hour
    assert all(datetime.now(UTC) - s.flow.opened_at < timedelta(hours=24) for s in runs)
    assert [s.flow.flow_id for s in runs if s.closed_at is None] == []
    assert list(tmp_path.glob("*-data")) == []  # faust's, before the migration
    assert not (tmp_path / "state").exists()  # Quix's default state folder: the demo's worker keeps it in its home
    # the broker started again as the user would (its start-up polling stays out of this process)
    hazmat = [sys.executable, "-m", "hazmat", "broker"]
    started = subprocess.run([*hazmat, "start"], env=env, capture_output=True, text=True, timeout=120, check=True)
    try:
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=started.stdout.strip().splitlines()[-1])
        try:
            assert [t for t in admin.list_topics() if "demo-" in t] == []
        finally:
            admin.close()
        # and their files leave the disk (Kafka removes a deleted topic's folders a little later)
        deadline = time.monotonic() + 30
        while left := [p.name for p in (broker_home / "data").iterdir() if "demo-" in p.name]:
            assert time.monotonic() < deadline, f"deleted demo topics still on disk: {left[:5]}"
            time.sleep(0.2)
    finally:
        subprocess.run([*hazmat, "stop"], env=env, capture_output=True, timeout=120, check=True)
    assert broker.status(broker_home) is None
