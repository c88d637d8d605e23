"""The ``hazmat`` command as a user runs it: inputs, outputs and exit codes of cli.md."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from hazmat import cli
from tests.helpers import REPO, SPEC, changed

SAMPLES = REPO / "config" / "cities" / "datong" / "samples" / "morning-checkins.jsonl"
runner = CliRunner()


def run(*args: str, stdin: str | None = None):
    return runner.invoke(cli.app, list(args), input=stdin)


def lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_check_single_pretty_printed_file():
    result = run("check", str(SPEC / "examples" / "checkin-refuse-tank-expired.json"))
    assert result.exit_code == 0, result.output
    [verdict] = lines(result.stdout)
    assert verdict["verdict"] == "refuse"
    assert verdict["findings"][0]["rule_id"] == "TNK-001"


def test_check_jsonl_from_stdin_with_an_invalid_line():
    good = json.dumps(changed(event_id="ok-1"), ensure_ascii=False)
    bad = json.dumps(changed(event_id="bad-1", vehicle__plate="X1"), ensure_ascii=False)
    result = run("check", "-", stdin=f"{good}\n{bad}\n\n{good.replace('ok-1', 'ok-2')}\n")
    assert result.exit_code == 2
    out = lines(result.stdout)
    assert [o.get("verdict") or o.get("error") for o in out] == ["load", "invalid_event", "load"]
    assert out[1]["line"] == 2
    assert out[1]["errors"][0]["loc"] == ["vehicle", "plate"]
    assert "not a valid plate" in out[1]["errors"][0]["msg"]


def test_check_broken_pretty_printed_object_is_one_error():
    text = json.dumps(changed(), ensure_ascii=False, indent=2).replace('"vehicle"', "vehicle", 1)
    result = run("check", "-", stdin=text)
    assert result.exit_code == 2
    [error] = lines(result.stdout)
    assert error["error"] == "invalid_event"
    assert error["line"] == 1
    assert "Invalid JSON" in error["errors"][0]["msg"]


def test_check_missing_file():
    result = run("check", "/nonexistent/checkins.jsonl")
    assert result.exit_code == 2
    assert "cannot read /nonexistent/checkins.jsonl" in result.stderr


def test_check_morning_samples_load_some_and_refuse_some():
    result = run("check", str(SAMPLES), "--summary")
    assert result.exit_code == 0, result.output
    verdicts = [v["verdict"] for v in lines(result.stdout)]
    assert len(verdicts) == len(SAMPLES.read_text(encoding="utf-8").splitlines())
    assert 0 < verdicts.count("load") < len(verdicts)
    assert "check-ins:" in result.stderr


def test_check_archives_and_archive_query_finds_it(tmp_path):
    assert run("check", str(SAMPLES)).exit_code == 0
    assert run("check", str(SAMPLES)).exit_code == 0  # again: still one record per event
    result = run("archive", "query", "--rule", "TNK-001", "--json")
    assert result.exit_code == 0, result.output
    [record] = lines(result.stdout)
    assert record["event_id"] == "dt-0702"
    assert record["verdict"]["verdict"] == "refuse"
    assert record["event"]["event_id"] == "dt-0702"
    everything = lines(run("archive", "query", "--json").stdout)
    assert len(everything) == len(SAMPLES.read_text(encoding="utf-8").splitlines())
    window = run("archive", "query", "--since", "2026-11-26T09:00:00+08:00", "--until", "2026-11-26T10:00:00+08:00")
    assert [r["event_id"] for r in lines(window.stdout)] == ["dt-0706", "dt-0707", "dt-0708"]


def test_no_archive_writes_nothing():
    assert run("check", str(SAMPLES), "--no-archive").exit_code == 0
    assert not Path(os.environ["HAZMAT_ARCHIVE"]).exists()


def test_archive_query_rejects_time_without_offset():
    result = run("archive", "query", "--since", "2026-11-26T08:00:00")
    assert result.exit_code == 2
    assert "has no offset" in result.stderr


def test_human_output_on_a_terminal(monkeypatch):
    buffer = io.StringIO()
    monkeypatch.setattr(cli, "out", Console(file=buffer, force_terminal=True, width=200, color_system=None))
    result = run("check", str(SPEC / "examples" / "checkin-refuse-tank-expired.json"))
    assert result.exit_code == 0
    text = buffer.getvalue()
    assert "REFUSE 不予装货" in text
    assert "TNK-001" in text
    assert "罐体检验已过期（有效期至 2026-10-01）" in text


def test_schema_prints_json_schema():
    result = run("schema", "checkin")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "vehicle" in schema["properties"]
    bad = run("schema", "nope")
    assert bad.exit_code == 2
    assert "choose one of: checkin" in bad.stderr


def test_rules_lists_the_catalogue():
    rows = lines(run("rules", "--json").stdout)
    inspection = [r for r in rows if r["part"] != "monitoring"]
    monitoring = [r for r in rows if r["part"] == "monitoring"]
    assert len(inspection) == 24
    assert inspection[0]["id"] == "CAR-001"
    # every id an alert can carry is listed too, with the alert kind it is raised as
    assert {r["id"]: r["alert_kind"] for r in monitoring} == {
        "FLW-001": "flow_overdue",
        "MOV-001": "unchecked_movement",
        "RTE-001": "route_deviation",
        "SPD-001": "speeding",
        "ZON-001": "zone_entry",
    }


def test_config_validate_ok_and_broken(tmp_path):
    ok = run("config", "validate", "--config", "jiamusi")
    assert ok.exit_code == 0
    assert "佳木斯" in ok.stdout
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "city.yaml").write_text("name: [\n", encoding="utf-8")
    result = run("config", "validate", "--config", str(broken))
    assert result.exit_code == 1
    assert "city.yaml: line" in result.stderr
    assert "rules.yaml: file is missing" in result.stderr
    assert "Traceback" not in result.output


def test_installed_console_script_runs_end_to_end():
    """The real process, as a user's shell runs it: stdin in, JSON out, exit code."""
    proc = subprocess.run(
        [sys.executable, "-m", "hazmat", "check", "-"],
        input=json.dumps(changed(vehicle__gps_terminal_online=False), ensure_ascii=False),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["findings"][0]["rule_id"] == "VEH-004"


@pytest.mark.parametrize("command", [["check", "--help"], ["archive", "query", "--help"], ["config", "--help"]])
def test_every_command_has_help(command):
    assert run(*command).exit_code == 0


def test_open_flows_lists_the_passed_high_hazard_loads_not_yet_delivered():
    assert run("check", str(SAMPLES)).exit_code == 0
    loaded = [v for v in lines(run("archive", "query", "--json").stdout) if v["verdict"]["verdict"] == "load"]
    high_hazard = {"UN1005", "UN1017", "UN1689", "UN1942", "UN2067"}
    expected = sorted(
        f"f-{r['event_id']}-{un}" for r in loaded for un in {i["un_number"] for i in r["event"]["load"]} & high_hazard
    )
    assert expected, "the samples hold passed high-hazard loads"
    result = run("archive", "flows", "--older-than", "0", "--json")
    assert result.exit_code == 0, result.output
    flows = lines(result.stdout)
    assert sorted(f["flow_id"] for f in flows) == expected
    assert all(f["closed_at"] is None and f["last_seen"] is None for f in flows)
    # loaded on 2026-11-26: not open for ten years yet
    assert lines(run("archive", "flows", "--older-than", "87600", "--json").stdout) == []
    # the older spelling still works
    alias = run("archive", "query", "--open-flows", "--older-than", "0", "--json")
    assert sorted(f["flow_id"] for f in lines(alias.stdout)) == expected
