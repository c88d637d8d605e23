"""One parser per OSM concern, each with a no-tags case and a precedence case (GraphHopper's habit)."""

from __future__ import annotations

import pytest

from hazmat.routing.policy import Load, static_reason
from hazmat.routing.restrictions import (
    ATTRS,
    REGISTRY,
    CityRoadRules,
    mark_all,
    osm_hazmat,
    osm_hazmat_class,
    osm_hazmat_water,
    osm_tags,
    osm_tunnel,
)


def test_no_tags_means_no_restriction():
    assert osm_hazmat.parse({}) is False
    assert osm_hazmat_water.parse({}) is False
    assert osm_hazmat_class.parse({}) == ()
    assert osm_tunnel.parse({}) is None


def test_hazmat_no():
    assert osm_hazmat.parse({"hazmat": "no"}) is True
    assert osm_hazmat.parse({"hazmat": "yes"}) is False


def test_hazmat_water_permissive_allows():
    assert osm_hazmat_water.parse({"hazmat:water": "no"}) is True
    assert osm_hazmat_water.parse({"hazmat:water": "permissive"}) is False


def test_hazmat_class():
    assert osm_hazmat_class.parse({"hazmat:3": "no", "hazmat:8": "yes", "hazmat:2.3": "no"}) == ("3", "2.3")


@pytest.mark.parametrize(
    ("tags", "category"),
    [
        ({"tunnel": "yes"}, "untagged"),
        ({"tunnel": "building_passage"}, "untagged"),
        ({"tunnel": "no", "hazmat:adr_tunnel_cat": "C"}, None),
        ({"tunnel": "yes", "hazmat:adr_tunnel_cat": "C"}, "C"),
        ({"tunnel": "yes", "hazmat:tunnel_cat": "d"}, "D"),
        ({"tunnel": "yes", "hazmat": "no"}, "E"),
        ({"tunnel": "yes", "hazmat:adr_tunnel_cat": "Z", "hazmat:tunnel_cat": "B"}, "B"),
        ({"hazmat:adr_tunnel_cat": "C"}, None),
    ],
)
def test_tunnel_category(tags, category):
    assert osm_tunnel.parse(tags) == category


def test_precedence_adr_over_tunnel_cat_over_hazmat_no():
    tags = {"tunnel": "yes", "hazmat:adr_tunnel_cat": "B", "hazmat:tunnel_cat": "D", "hazmat": "no"}
    assert osm_tunnel.parse(tags) == "B"
    del tags["hazmat:adr_tunnel_cat"]
    assert osm_tunnel.parse(tags) == "D"
    del tags["hazmat:tunnel_cat"]
    assert osm_tunnel.parse(tags) == "E"


@pytest.mark.parametrize(
    ("category", "code", "forbidden"),
    [("C", "B", True), ("C", "C", True), ("C", "D", False), ("C", "E", False), ("E", "E", True), ("B", "C", False)],
)
def test_a_code_forbids_its_category_and_above(category, code, forbidden):
    assert osm_tunnel.forbids(category, code, untagged_forbidden=True) is forbidden


def test_untagged_tunnels_follow_the_city_policy():
    assert osm_tunnel.forbids("untagged", "E", untagged_forbidden=True) is True
    assert osm_tunnel.forbids("untagged", "B", untagged_forbidden=False) is False
    assert osm_tunnel.forbids(None, "B", untagged_forbidden=True) is False


def test_every_restriction_tag_is_kept_on_edges():
    assert {"tunnel", "hazmat", "hazmat:water", "hazmat:adr_tunnel_cat", "hazmat:tunnel_cat", "hazmat:3"} <= set(
        osm_tags()
    )


def test_the_registry_declares_each_restriction_once_and_the_route_event_reads_its_kinds():
    from hazmat.events import Avoided
    from hazmat.zone_kinds import ZONE_KINDS

    assert len({r.kind for r in REGISTRY}) == len({r.attr for r in REGISTRY}) == len(REGISTRY)
    assert set(Avoided.model_json_schema()["properties"]["kind"]["enum"]) == {*ZONE_KINDS, *(r.kind for r in REGISTRY)}


def test_one_pass_marks_every_restriction_on_an_edge():
    edges = [(1, 2, {"tunnel": "yes", "hazmat:3": "no", "hazmat:water": "no"}), (2, 3, {})]
    mark_all(edges)
    assert {a: edges[0][2][a] for a in ATTRS} == {
        "hazmat_no": False,
        "hazmat_water_no": True,
        "hazmat_class_no": ("3",),
        "tunnel_cat": "untagged",
    }
    assert not any(edges[1][2][a] for a in ATTRS)


LOAD = Load(classes=frozenset({"3"}), un_numbers=frozenset({"UN1203"}), tunnel_code="D")


@pytest.mark.parametrize(
    ("tags", "kind", "reason_en"),
    [
        ({"hazmat": "no", "tunnel": "yes", "name": "X路"}, "hazmat_road", "X路: hazmat=no"),
        ({"hazmat:water": "no", "hazmat:3": "no"}, "hazmat_water_road", "unnamed road: hazmat:water=no"),
        (
            {"hazmat:3": "no", "tunnel": "yes", "hazmat:tunnel_cat": "E"},
            "hazmat_class_road",
            "unnamed road: hazmat:3=no",
        ),
        ({"tunnel": "yes", "hazmat:tunnel_cat": "E"}, "tunnel", "unnamed road: tunnel category E, load tunnel code D"),
        ({"hazmat:2": "no", "tunnel": "yes", "hazmat:tunnel_cat": "C"}, None, None),
    ],
)
def test_the_first_restriction_that_closes_the_road_gives_the_reason(tags, kind, reason_en):
    data = dict(tags)
    mark_all([(0, 1, data)])
    reason = static_reason(data, LOAD, rules=CityRoadRules())
    assert (reason and (reason.kind, reason.reason_en)) == ((kind, reason_en) if kind else None)


def test_untagged_tunnels_close_only_when_the_city_forbids_them():
    data = {"tunnel": "yes"}
    mark_all([(0, 1, data)])
    assert static_reason(data, LOAD, rules=CityRoadRules(untagged_tunnel_forbidden=True)).kind == "tunnel"
    assert static_reason(data, LOAD, rules=CityRoadRules(untagged_tunnel_forbidden=False)) is None
