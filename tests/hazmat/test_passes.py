"""Police passes outside the router: the event, what a city accepts, the book, passes.yaml and its schema."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hazmat import cli
from hazmat.cityconfig import CITIES_DIR, load_city
from hazmat.errors import ConfigError
from hazmat.events import InvalidEvent, Pass, decode
from hazmat.passes import PassBook, pass_problems

PASS = {
    "schema_version": 1,
    "pass_id": "HRB-2026-0001",
    "plate": "黑A12345",
    "zone_ids": ["rs-daoli-nangang"],
    "valid_from": "2026-11-26T08:00:00+08:00",
    "valid_until": "2026-11-26T18:00:00+08:00",
    "route": None,
    "issued_by": "哈尔滨市公安局交通警察支队",
    "reason": "医院液氧配送",
}


def granted(**changes) -> Pass:
    return decode(Pass, json.dumps({**PASS, **changes}, ensure_ascii=False))


def errors(**changes) -> list[dict]:
    with pytest.raises(InvalidEvent) as info:
        granted(**changes)
    return info.value.errors


def test_a_pass_decodes_with_or_without_a_route():
    assert granted().route is None
    routed = granted(route={"type": "LineString", "coordinates": [[126.6, 45.75], [126.62, 45.76]]})
    assert routed.route is not None
    assert routed.route.coordinates[1] == (126.62, 45.76)


def test_a_pass_that_ends_before_it_starts_is_refused_on_valid_until():
    [e] = errors(valid_until="2026-11-26T08:00:00+08:00")
    assert e["loc"] == ["valid_until"]
    assert "is not after valid_from" in e["msg"]


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"zone_ids": []}, ["zone_ids"]),
        ({"zone_ids": ["rs-a", "rs-a"]}, ["zone_ids"]),
        ({"valid_from": "2026-11-26T08:00:00"}, ["valid_from"]),
        ({"plate": "XX"}, ["plate"]),
        ({"route": {"type": "LineString", "coordinates": [[126.6, 45.75]]}}, ["route", "coordinates"]),
        (
            {"route": {"type": "LineString", "coordinates": [[500, 45.75], [126.6, 45.7]]}},
            ["route", "coordinates", 0, 0],
        ),
        ({"colour": "red"}, ["colour"]),
    ],
)
def test_a_broken_pass_names_the_field(changes, loc):
    assert [e["loc"] for e in errors(**changes)] == [loc]


def test_the_schema_command_prints_the_pass():
    result = CliRunner().invoke(cli.app, ["schema", "pass"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "Pass"
    assert {"pass_id", "plate", "zone_ids", "valid_from", "valid_until", "route"} <= set(schema["properties"])


def test_what_a_city_accepts():
    features = load_city("harbin").zones.features
    assert (
        pass_problems(granted(zone_ids=["rs-daoli-nangang", "da-hongqi-nanzhi-example", "cl-qunli-works"]), features)
        == []
    )
    found = pass_problems(
        granted(zone_ids=["rs-daoli-nangang", "ws-songhua-zhushuntun", "osm-way-1", "rs-nowhere", "dr-hongqi"]),
        features,
    )
    assert [e["loc"] for e in found] == [["zone_ids", k] for k in (1, 2, 3, 4)]
    assert "'ws-songhua-zhushuntun' is a water-source area: a pass never opens one" in found[0]["msg"]
    assert "'osm-way-1' is a water-source area" in found[1]["msg"]
    assert (
        "no zone 'rs-nowhere' in this city; a pass may open cl-qunli-works, da-hongqi-nanzhi-example" in found[2]["msg"]
    )
    assert "'dr-hongqi' is a designated road, not a zone; name its area 'da-hongqi-nanzhi-example'" in found[3]["msg"]


def test_the_book_by_plate_with_replacement_and_revocation():
    book = PassBook([granted(), granted(pass_id="P-2", plate="黑A54321")])
    assert [p.pass_id for p in book.for_plate("黑A12345")] == ["HRB-2026-0001"]
    book.put(granted(plate="黑A54321"))  # re-issued for another vehicle
    assert book.for_plate("黑A12345") == ()
    assert sorted(p.pass_id for p in book.for_plate("黑A54321")) == ["HRB-2026-0001", "P-2"]
    assert book.revoke("P-2").pass_id == "P-2"
    assert book.revoke("P-2") is None
    assert [p.pass_id for p in book] == ["HRB-2026-0001"]
    assert len(book) == 1


@pytest.fixture
def harbin(tmp_path: Path) -> Path:
    folder = tmp_path / "harbin"
    shutil.copytree(CITIES_DIR / "harbin", folder, ignore=shutil.ignore_patterns("*.osm*", "api_keys.yaml"))
    return folder


def _write(folder: Path, text: str) -> None:
    (folder / "passes.yaml").write_text(text, encoding="utf-8")


def test_passes_yaml_loads_unquoted_timestamps_and_keeps_expired_passes(harbin):
    _write(
        harbin,
        """passes:
  - schema_version: 1
    pass_id: HRB-2026-0001
    plate: 黑A12345
    zone_ids: [rs-daoli-nangang]
    valid_from: 2026-11-26T08:00:00+08:00
    valid_until: 2026-11-26T18:00:00+08:00
    issued_by: 哈尔滨市公安局交通警察支队
    reason: 医院液氧配送
  - schema_version: 1
    pass_id: HRB-2020-0001
    plate: 黑A12345
    zone_ids: [cl-qunli-works]
    valid_from: "2020-01-01T00:00:00+08:00"
    valid_until: "2020-01-02T00:00:00+08:00"
    route: {type: LineString, coordinates: [[126.54, 45.716], [126.54, 45.721]]}
    issued_by: 哈尔滨市公安局交通警察支队
    reason: long expired, kept
""",
    )
    passes = load_city(harbin).passes.passes
    assert [p.pass_id for p in passes] == ["HRB-2026-0001", "HRB-2020-0001"]
    assert passes[0].valid_from.isoformat() == "2026-11-26T08:00:00+08:00"


def test_no_passes_yaml_means_no_passes():
    assert load_city("harbin").passes.passes == []


@pytest.mark.parametrize(
    ("line", "where", "reason"),
    [
        ("zone_ids: [ws-songhua-zhushuntun]", "passes[0].zone_ids[0] (pass 'P-1')", "is a water-source area"),
        ("zone_ids: [rs-nowhere]", "passes[0].zone_ids[0] (pass 'P-1')", "no zone 'rs-nowhere'"),
        ("valid_until: 2026-11-26T07:00:00+08:00", "passes[0].valid_until (pass 'P-1')", "is not after valid_from"),
        ("valid_until: 2026-11-26T18:00:00", "passes[0].valid_until (pass 'P-1')", "timezone"),
    ],
)
def test_a_passes_yaml_that_breaks_the_rules_names_the_pass_and_the_reason(harbin, line, where, reason):
    key = line.split(":")[0]
    body = {
        "pass_id": "P-1", "plate": "黑A12345", "zone_ids": "[rs-daoli-nangang]",
        "valid_from": "2026-11-26T08:00:00+08:00", "valid_until": "2026-11-26T18:00:00+08:00",
        "issued_by": "交警", "reason": "test",
    }  # fmt: skip
    body[key] = line.split(": ", 1)[1]
    _write(harbin, "passes:\n  - schema_version: 1\n" + "".join(f"    {k}: {v}\n" for k, v in body.items()))
    with pytest.raises(ConfigError) as info:
        load_city(harbin)
    [problem] = info.value.problems
    assert problem.startswith(f"{harbin / 'passes.yaml'}: {where}: "), problem
    assert reason in problem


def test_two_passes_with_one_id(harbin):
    one = "  - {schema_version: 1, pass_id: P-1, plate: 黑A12345, zone_ids: [rs-daoli-nangang], valid_from: 2026-11-26T08:00:00+08:00, valid_until: 2026-11-26T18:00:00+08:00, issued_by: x, reason: y}\n"
    _write(harbin, "passes:\n" + one + one)
    with pytest.raises(ConfigError, match="pass id 'P-1' is used twice"):
        load_city(harbin)
