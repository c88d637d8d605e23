"""The PBF build (``routing.pbf``: drivable ways streamed by pyosmium) equals the osmnx XML build (issue #18).

Both read one consistent pair made here from the Chengdu PBF: the same nodes, ways and
relations written as PBF and as OSM XML, with the references to nodes outside the clip dropped
(so each file is read whole, and osmnx's XML reader accepts it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import osmium
import pytest
import yaml
from shapely.geometry import shape

from hazmat.cityconfig import load_city
from hazmat.routing import graph as road_graph
from hazmat.routing import pbf
from tests.routing_helpers import CHENGDU

SOURCE = CHENGDU.parent.parent / "osm" / "chengdu_center.osm.pbf"


def consistent_pair(folder: Path) -> tuple[Path, Path]:
    """The Chengdu extract as PBF and XML, every way's references to absent nodes dropped."""
    present = {n.id for n in osmium.FileProcessor(str(SOURCE), osmium.osm.NODE)}
    paths = folder / "chengdu.osm.pbf", folder / "chengdu.osm"
    writers = [osmium.SimpleWriter(str(p)) for p in paths]
    try:
        for obj in osmium.FileProcessor(str(SOURCE)):
            if obj.is_way():
                refs = [n.ref for n in obj.nodes if n.ref in present]
                if len(refs) < 2:
                    continue
                obj = obj.replace(nodes=refs)
            for w in writers:
                w.add(obj)
    finally:
        for w in writers:
            w.close()
    return paths


def city_reading(folder: Path, extract: Path):
    """The Chengdu test city with its graph read from ``extract``."""
    shutil.copytree(CHENGDU, folder)
    doc = yaml.safe_load((folder / "city.yaml").read_text(encoding="utf-8"))
    doc["graph"] = {"source": "file", "file": str(extract)}
    (folder / "city.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_city(folder)


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pbf")
    from_pbf, from_xml = consistent_pair(folder)
    return (
        road_graph.build(city_reading(folder / "city-pbf", from_pbf)),
        road_graph.build(city_reading(folder / "city-xml", from_xml)),
    )


def test_the_pair_is_a_pbf_and_an_xml_file():
    assert pbf.is_pbf(Path("a.osm.pbf"))
    assert not pbf.is_pbf(Path("a.osm.bz2"))


def test_the_pbf_build_has_the_nodes_of_the_xml_build(builds):
    from_pbf, from_xml = builds
    assert from_xml.number_of_nodes() > 1000
    assert dict(from_pbf.nodes(data=True)) == dict(from_xml.nodes(data=True))


def test_the_pbf_build_has_the_edges_of_the_xml_build(builds):
    from_pbf, from_xml = builds
    ours = {(u, v, k): d for u, v, k, d in from_pbf.edges(keys=True, data=True)}
    theirs = {(u, v, k): d for u, v, k, d in from_xml.edges(keys=True, data=True)}
    assert len(theirs) > 2000
    assert ours.keys() == theirs.keys()
    for key, data in theirs.items():
        mine = dict(ours[key])
        geometry, expected = mine.pop("geometry", None), dict(data)
        other = expected.pop("geometry", None)
        assert mine == expected, key
        assert (geometry is None) == (other is None), key
        if geometry is not None:
            assert geometry.equals_exact(other, 0), key


def test_the_pbf_build_has_the_water_sources_of_the_xml_build(builds):
    from_pbf, from_xml = builds
    ours, theirs = from_pbf.graph["water_sources"], from_xml.graph["water_sources"]
    assert [w["id"] for w in ours] == [w["id"] for w in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert shape(a["geometry"]).normalize().equals_exact(shape(b["geometry"]).normalize(), 1e-9)
