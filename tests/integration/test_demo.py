"""The README's first command: ``hazmat demo`` end to end, with its own broker, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hazmat import broker

pytestmark = pytest.mark.kafka


def test_demo_runs_end_to_end_and_stops_what_it_started(tmp_path):
    home = tmp_path / "broker"
    env = {
        **os.environ,
        "HAZMAT_BROKER_HOME": str(home),
        "HAZMAT_ARCHIVE": str(tmp_path / "archive.sqlite"),
        "HAZMAT_TOPIC_PREFIX": "demo.",
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "hazmat", "demo"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "11 verdicts (4 load, 7 refuse)" in proc.stderr
    assert "REFUSE 不予装货 黑A23456  hrb-0702  TNK-001" in proc.stdout
    assert "ALERT  checkin_refused" in proc.stdout
    assert "DEAD LETTER demo.hazmat.checkins" in proc.stdout
    assert "ROUTE  黑A12345" in proc.stdout
    assert "avoided: rs-daoli-nangang" in proc.stdout
    for kind in ("zone_entry", "route_deviation", "unchecked_movement"):
        assert f"ALERT  {kind}" in proc.stdout, kind
    assert (tmp_path / "out" / "demo-route.html").is_file()
    assert broker.status(home) is None, "the demo must stop the broker it started"
    assert (tmp_path / "archive.sqlite").is_file()
