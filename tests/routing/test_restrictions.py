"""One parser per OSM concern, each with a no-tags case and a precedence case (GraphHopper's habit)."""

from __future__ import annotations

import pytest

from hazmat.routing.restrictions import osm_hazmat, osm_hazmat_class, osm_hazmat_water, osm_tags, osm_tunnel


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
