"""City configuration: bundled cities are valid; each way a person breaks a file is named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hazmat.cityconfig import CITIES_DIR, load_city
from hazmat.errors import ConfigError
from hazmat.settings_doc import render
from tests.helpers import REPO


@pytest.fixture
def city(tmp_path: Path) -> Path:
    folder = tmp_path / "city"
    shutil.copytree(CITIES_DIR / "datong", folder)
    return folder


def problems(folder: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_city(folder)
    return info.value.problems


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("name", sorted(p.name for p in CITIES_DIR.iterdir() if p.is_dir()))
def test_bundled_cities_are_valid(name):
    city = load_city(name)
    assert city.settings.province in "晋黑"
    assert city.rule_settings().province == city.settings.province


def test_default_city_is_datong(monkeypatch):
    monkeypatch.delenv("HAZMAT_CITY", raising=False)
    assert load_city().settings.name_en == "Datong"


def test_unknown_city_lists_the_bundled_ones():
    with pytest.raises(ConfigError, match=r"no city configuration folder 'atlantis'.*datong"):
        load_city("atlantis")


def test_bad_yaml_names_file_and_line(city):
    (city / "city.yaml").write_text("name: 大同\n  province: [晋\n", encoding="utf-8")
    [problem] = problems(city)
    assert problem.startswith(f"{city / 'city.yaml'}: line ")
    assert "not valid YAML" in problem


def test_unknown_key(city):
    edit(city / "city.yaml", "corridor_m: 200", "corridor_m: 200\ncoridor_width: 3")
    assert problems(city) == [f"{city / 'city.yaml'}: coridor_width: Extra inputs are not permitted"]


def test_renamed_key_names_old_and_new(city):
    edit(city / "city.yaml", "timezone: Asia/Shanghai", "tz: Asia/Shanghai")
    [problem] = problems(city)
    assert "'tz' was renamed to 'timezone'" in problem


@pytest.mark.parametrize(
    ("old", "new", "field", "msg_part"),
    [
        ("province: 晋", "province: X", "province", "not a province character"),
        ("timezone: Asia/Shanghai", "timezone: Mars/Olympus", "timezone", "unknown time zone"),
        ("corridor_m: 200", "corridor_m: -5", "corridor_m", "greater than 0"),
        ("  source: place", "  source: file", "graph", "source is 'file' but 'file' is not set"),
        ("untagged_tunnel_policy: forbidden", "untagged_tunnel_policy: maybe", "untagged_tunnel_policy", "forbidden"),
        ("corridor_m: 200", "corridor_m: 200\nmap_tiles_url: https://t.example/{z}/{x}.png", "map_tiles_url", "{y}"),
        ("corridor_m: 200", "corridor_m: 200\nflow_overdue_h: 0", "flow_overdue_h", "greater than 0"),
    ],
)
def test_city_yaml_field_errors(city, old, new, field, msg_part):
    edit(city / "city.yaml", old, new)
    [problem] = problems(city)
    assert problem.startswith(f"{city / 'city.yaml'}: {field}: "), problem
    assert msg_part in problem


def test_unknown_rule_id_in_severities(city):
    edit(city / "rules.yaml", "severities: {}", "severities: {VEH-099: warn}")
    [problem] = problems(city)
    assert "rules.yaml: severities: unknown rule id(s) VEH-099" in problem


def test_bad_un_number_in_lists(city):
    edit(city / "rules.yaml", "toxic_un_numbers: [UN1051,", "toxic_un_numbers: [UN105,")
    [problem] = problems(city)
    assert "rules.yaml: toxic_un_numbers[0]: not a valid UN number" in problem


def test_blacklist_entry_without_reason(city):
    (city / "blacklist.yaml").write_text('plates: [{plate: "晋B99999", listed_on: 2026-02-01}]\n', encoding="utf-8")
    [problem] = problems(city)
    assert problem == f"{city / 'blacklist.yaml'}: plates[0].reason: Field required"


def test_blacklist_feeds_the_rules(city):
    (city / "blacklist.yaml").write_text(
        'plates: [{plate: "晋B99999", reason: "伪造", listed_on: 2026-02-01}]\n'
        'persons: [{id_number: "140202197001011111", reason: "酒驾", listed_on: 2026-03-01}]\n',
        encoding="utf-8",
    )
    bl = load_city(city).rule_settings().blacklist
    assert bl.plates == {"晋B99999": "伪造"}
    assert bl.persons == {"140202197001011111": "酒驾"}


def _zones(city: Path) -> dict:
    return json.loads((city / "zones.geojson").read_text(encoding="utf-8"))


def _write_zones(city: Path, data: dict) -> None:
    (city / "zones.geojson").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_polygon_that_does_not_close(city):
    data = _zones(city)
    data["features"][0]["geometry"]["coordinates"][0][-1] = [113.0, 39.0]
    _write_zones(city, data)
    [problem] = problems(city)
    assert "zones.geojson: features[0].geometry" in problem
    assert "ring does not close" in problem


def test_time_window_25_oclock(city):
    data = _zones(city)
    data["features"][1]["properties"]["windows"][0]["start"] = "25:00"
    _write_zones(city, data)
    [problem] = problems(city)
    assert "zones.geojson: features[1].properties.windows[0].start: String should match pattern" in problem


def test_point_zone_is_rejected_naming_zone_and_type(city):
    data = _zones(city)
    data["features"][0]["geometry"] = {"type": "Point", "coordinates": [113.0, 40.0]}
    _write_zones(city, data)
    [problem] = problems(city)
    assert "features[0]: zone 'ws-cetian': geometry type 'Point' is not allowed" in problem


def test_duplicate_zone_ids(city):
    data = _zones(city)
    data["features"][1]["properties"]["id"] = "ws-cetian"
    _write_zones(city, data)
    assert "zone id 'ws-cetian' is used twice" in problems(city)[0]


def test_broken_json_names_line(city):
    (city / "zones.geojson").write_text('{"type": "FeatureCollection",\n "features": [}', encoding="utf-8")
    [problem] = problems(city)
    assert "zones.geojson: line 2, column" in problem


def test_missing_file(city):
    (city / "rules.yaml").unlink()
    assert problems(city) == [f"{city / 'rules.yaml'}: file is missing"]


def test_every_file_is_checked_before_failing(city):
    edit(city / "city.yaml", "province: 晋", "province: X")
    edit(city / "rules.yaml", "waybill_tolerance: 0.02", "waybill_tolerance: 2")
    found = problems(city)
    assert len(found) == 2
    assert "city.yaml: province" in found[0]
    assert "rules.yaml: waybill_tolerance" in found[1]


def test_archive_path_from_env(city, monkeypatch, tmp_path):
    monkeypatch.setenv("HAZMAT_ARCHIVE", str(tmp_path / "a.sqlite"))
    assert load_city(city).archive_path() == tmp_path / "a.sqlite"


def test_configuration_docs_are_generated_from_the_models():
    assert (REPO / "docs" / "configuration.md").read_text(encoding="utf-8") == render(), (
        "docs/configuration.md is stale: run `hazmat config docs > docs/configuration.md`"
    )


def test_the_default_archive_of_a_folder_names_where_it_is(tmp_path, monkeypatch):
    monkeypatch.delenv("HAZMAT_ARCHIVE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    a, b = tmp_path / "a" / "city", tmp_path / "b" / "city"
    for folder in (a, b):
        shutil.copytree(CITIES_DIR / "datong", folder)
    first, second = load_city(a).archive_path(), load_city(b).archive_path()
    assert first != second
    assert first.parent == second.parent == tmp_path / "data" / "hazmat-checker"
    assert load_city("datong").archive_path() == tmp_path / "data" / "hazmat-checker" / "archive-datong.sqlite"


# --- designated areas and roads (routing.md item 5) ------------------------------------------

AREA = {
    "type": "Feature",
    "properties": {"id": "da-test", "name": "测试管控区", "kind": "designated_area", "match_m": 25},
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[113.0, 40.0], [113.1, 40.0], [113.1, 40.1], [113.0, 40.1], [113.0, 40.0]]],
    },
}


def _road(road_id: str, area: str, coords: list[list[float]]) -> dict:
    return {
        "type": "Feature",
        "properties": {"id": road_id, "kind": "designated_road", "area": area},
        "geometry": {"type": "LineString", "coordinates": coords},
    }


def _with(city: Path, *features: dict) -> None:
    data = _zones(city)
    data["features"] += list(features)
    _write_zones(city, data)


def test_a_designated_area_with_its_roads_loads(city):
    _with(city, AREA, _road("dr-a", "da-test", [[113.01, 40.05], [113.09, 40.05]]))
    zones = load_city(city).zones
    assert [z.properties.id for z in zones.zones][-1] == "da-test"
    assert [r.properties.area for r in zones.roads] == ["da-test"]
    assert zones.zones[-1].properties.match == 25


def test_an_area_without_roads(city):
    _with(city, AREA)
    [problem] = problems(city)
    assert f"{city / 'zones.geojson'}: features[" in problem
    assert "designated area 'da-test' has no designated road" in problem


def test_a_road_naming_no_area(city):
    _with(
        city,
        AREA,
        _road("dr-a", "da-test", [[113.01, 40.05], [113.09, 40.05]]),
        _road("dr-b", "da-nope", [[113.01, 40.06], [113.02, 40.06]]),
    )
    [problem] = problems(city)
    assert "properties.area: designated road 'dr-b': names no zone 'da-nope'" in problem


def test_a_road_naming_a_restricted_zone(city):
    restricted = _zones(city)["features"][1]["properties"]["id"]
    _with(
        city,
        AREA,
        _road("dr-a", "da-test", [[113.01, 40.05], [113.09, 40.05]]),
        _road("dr-b", restricted, [[113.01, 40.06], [113.02, 40.06]]),
    )
    [problem] = problems(city)
    assert f"designated road 'dr-b': names '{restricted}', a restricted zone" in problem


def test_a_road_that_leaves_its_area(city):
    _with(city, AREA, _road("dr-a", "da-test", [[113.01, 40.05], [113.12, 40.05]]))
    [problem] = problems(city)
    n = len(_zones(city)["features"]) - 1
    assert f"zones.geojson: features[{n}].geometry: designated road 'dr-a' leaves its area 'da-test'" in problem
    assert "about 1" in problem  # 0.02° of longitude at 40°N: about 1.7 km


def test_an_area_takes_no_buffer(city):
    _with(
        city,
        {**AREA, "properties": {**AREA["properties"], "buffer_m": 50}},
        _road("dr-a", "da-test", [[113.01, 40.05], [113.09, 40.05]]),
    )
    [problem] = problems(city)
    assert "a designated_area takes no buffer_m" in problem


def test_a_road_must_be_a_line_and_a_zone_a_polygon(city):
    line = _road("dr-a", "da-test", [[113.01, 40.05], [113.09, 40.05]])
    polygon_road = {**line, "geometry": AREA["geometry"]}
    line_zone = {
        **AREA,
        "properties": {**AREA["properties"], "id": "rs-line", "kind": "restricted"},
        "geometry": line["geometry"],
    }
    _with(city, AREA, line, {**polygon_road, "properties": {**line["properties"], "id": "dr-b"}}, line_zone)
    found = problems(city)
    assert any("designated road 'dr-b': geometry type 'Polygon' is not allowed" in p for p in found), found
    assert any("zone 'rs-line': geometry type 'LineString' is not allowed" in p for p in found), found
    assert all(".zone." not in p and ".designated_road." not in p for p in found), found  # no model tag in the path
