"""``hazmat route`` and ``hazmat graph build`` as cli.md says: outputs, files and exit codes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hazmat import cli
from tests.routing_helpers import CHENGDU

runner = CliRunner()
A, B = "104.0600,30.6700", "104.1100,30.7100"


def run(*args: str):
    return runner.invoke(cli.app, list(args))


def test_route_ok_writes_geojson_and_map(tmp_path, chengdu_graph):
    result = run(
        "route", "--config", str(CHENGDU), "--from", A, "--to", B, "--at", "2026-11-26T10:00:00+08:00",
        "--un", "UN1203", "--class", "3", "--optimize", "distance",
        "--geojson", str(tmp_path / "r.geojson"), "--map", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    route = json.loads(result.stdout)
    assert route["status"] == "ok"
    assert route["length_m"] > 1000
    assert (
        json.loads((tmp_path / "r.geojson").read_text(encoding="utf-8"))["features"][0]["properties"]["kind"] == "route"
    )
    assert "<svg" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_route_no_permitted_route_exits_3(tmp_path, chengdu_graph):
    city = tmp_path / "city"
    city.mkdir()
    for name in ("city.yaml", "rules.yaml", "blacklist.yaml"):
        (city / name).write_text((CHENGDU / name).read_text(encoding="utf-8"), encoding="utf-8")
    (city / "city.yaml").write_text(
        (CHENGDU / "city.yaml").read_text(encoding="utf-8").replace("../../osm/", f"{CHENGDU.parent.parent}/osm/"),
        encoding="utf-8",
    )
    ring = [[104.055, 30.665], [104.065, 30.665], [104.065, 30.675], [104.055, 30.675], [104.055, 30.665]]
    zones = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": "ws-a", "kind": "water_source"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
    (city / "zones.geojson").write_text(json.dumps(zones), encoding="utf-8")
    result = run("route", "--config", str(city), "--from", A, "--to", B, "--json")
    assert result.exit_code == 3, result.output
    route = json.loads(result.stdout)
    assert route["status"] == "no_permitted_route"
    assert route["blocked_by"][0]["zone_id"] == "ws-a"


def test_route_bad_input_exits_2():
    assert run("route", "--config", str(CHENGDU), "--from", "nowhere", "--to", B).exit_code == 2
    assert run("route", "--config", str(CHENGDU), "--from", A, "--to", B, "--un", "UN1005").exit_code == 2
    outside = run("route", "--config", str(CHENGDU), "--from", "100.0,30.0", "--to", B, "--json")
    assert outside.exit_code == 2
    assert json.loads(outside.stdout)["status"] == "outside_map"


def test_graph_build_reports_its_size(chengdu_graph):
    result = run("graph", "build", "--config", str(CHENGDU), "--no-rebuild")
    assert result.exit_code == 0, result.output
    assert "nodes" in result.stderr
    assert "edges" in result.stderr


def test_a_city_without_a_local_extract_says_what_to_do():
    result = run("route", "--config", "datong", "--from", A, "--to", B)
    assert result.exit_code == 1
    assert "graph.source is 'place'" in result.stderr


def _chengdu_copy(tmp_path):
    city = tmp_path / "city"
    city.mkdir()
    for name in ("rules.yaml", "blacklist.yaml", "zones.geojson"):
        (city / name).write_text((CHENGDU / name).read_text(encoding="utf-8"), encoding="utf-8")
    (city / "city.yaml").write_text(
        (CHENGDU / "city.yaml").read_text(encoding="utf-8").replace("../../osm/", f"{CHENGDU.parent.parent}/osm/"),
        encoding="utf-8",
    )
    return city


PASSES = """passes:
  - schema_version: 1
    pass_id: CD-2026-0007
    plate: 川A12345
    zone_ids: [{zone}]
    valid_from: 2026-11-26T08:00:00+08:00
    valid_until: 2026-11-26T18:00:00+08:00
    issued_by: 成都市公安局交通管理局
    reason: 医院液氧配送
"""
INSIDE = "104.1250,30.7245"  # inside rs-test-corner (07:00–21:00)


def test_route_with_plate_applies_its_passes_from_passes_yaml(tmp_path, chengdu_graph):
    city = _chengdu_copy(tmp_path)
    (city / "passes.yaml").write_text(PASSES.format(zone="rs-test-corner"), encoding="utf-8")
    at = "2026-11-26T10:00:00+08:00"
    refused = run("route", "--config", str(city), "--from", A, "--to", INSIDE, "--at", at, "--json")
    assert refused.exit_code == 3, refused.output  # no plate: the test plate holds no pass
    assert json.loads(refused.stdout)["blocked_by"][0]["zone_id"] == "rs-test-corner"
    other = run(
        "route", "--config", str(city), "--from", A, "--to", INSIDE, "--at", at, "--plate", "川A54321", "--json"
    )
    assert other.exit_code == 3, other.output
    opened = run(
        "route", "--config", str(city), "--from", A, "--to", INSIDE, "--at", at, "--plate", "川A12345", "--json"
    )
    assert opened.exit_code == 0, opened.output
    route = json.loads(opened.stdout)
    assert route["plate"] == "川A12345"
    assert route["passes_used"] == ["CD-2026-0007"]
    late = run("route", "--config", str(city), "--from", A, "--to", INSIDE, "--at", "2026-11-26T18:30:00+08:00",
               "--plate", "川A12345", "--json")  # fmt: skip
    assert late.exit_code == 3, late.output  # the pass ended at 18:00; the zone runs to 21:00


def test_route_stops_on_a_pass_file_that_breaks_the_rules(tmp_path):
    city = _chengdu_copy(tmp_path)
    (city / "passes.yaml").write_text(PASSES.format(zone="osm-way-227338532"), encoding="utf-8")
    result = run("route", "--config", str(city), "--from", A, "--to", B, "--plate", "川A12345")
    assert result.exit_code == 1
    assert "passes.yaml: passes[0].zone_ids[0] (pass 'CD-2026-0007')" in result.stderr
    assert "water-source area: a pass never opens one" in result.stderr
    bad_plate = run("route", "--config", str(CHENGDU), "--from", A, "--to", B, "--plate", "nobody")
    assert bad_plate.exit_code == 2
