"""The wheel, installed as a user would: a clean venv outside the checkout, run from elsewhere.

Proves the package carries what it needs (the bundled cities and the web page as package data)
and installs only the ``hazmat`` import name, so no ``rules`` or ``api`` module of ours shadows
another distribution's. Slow (one ``pip install`` of every dependency, the demo end to end).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO, SPEC

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(REPO)],
        check=True, capture_output=True,
    )  # fmt: skip
    [built] = dist.glob("hazmat_checker-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and its dependencies; returns the folder to run from (not the checkout)."""
    root = tmp_path_factory.mktemp("installed")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    subprocess.run(
        [str(root / "venv" / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    (root / "work").mkdir()
    return root


def hazmat(installed: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAZMAT_", "PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run(
        [str(installed / "venv" / "bin" / "hazmat"), *args],
        cwd=installed / "work", env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_the_wheel_installs_one_import_name_with_the_cities_and_the_page(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"hazmat", "hazmat_checker-0.1.0.dist-info"}
    for city in ("datong", "harbin", "jiamusi"):
        assert f"hazmat/config/cities/{city}/city.yaml" in names
    assert "hazmat/config/cities/harbin/harbin_center_osmnx.osm.bz2" in names
    assert "hazmat/api/page.html" in names
    # the page's script and Leaflet with its licence: nothing fetched from a CDN at run time
    for static in ("opsmap.js", "opsmap.css", "leaflet/leaflet.js", "leaflet/leaflet.css", "leaflet/LICENSE",
                   "leaflet/VERSION", "leaflet/images/marker-icon.png", "leaflet/images/layers.png"):  # fmt: skip
        assert f"hazmat/api/static/{static}" in names


def test_the_installed_command_judges_lists_rules_and_imports_nothing_top_level(installed: Path):
    python = str(installed / "venv" / "bin" / "python")
    for name in ("rules", "routing", "streams", "monitor", "api", "config"):
        probe = subprocess.run([python, "-c", f"import {name}"], cwd=installed / "work", capture_output=True)
        assert probe.returncode != 0, f"the wheel installed a top-level '{name}'"
    rules = hazmat(installed, "rules", "--json")
    assert rules.returncode == 0, rules.stderr
    assert "TNK-001" in {json.loads(line)["id"] for line in rules.stdout.splitlines()}
    example = SPEC / "examples" / "checkin-refuse-tank-expired.json"
    checked = hazmat(installed, "check", str(example), "--json")
    assert checked.returncode == 0, checked.stderr
    verdict = json.loads(checked.stdout)
    assert (verdict["verdict"], [f["rule_id"] for f in verdict["findings"]]) == ("refuse", ["TNK-001"])


def test_the_installed_command_builds_the_bundled_graph_routes_and_runs_the_demo(installed: Path):
    built = hazmat(installed, "graph", "build", "--config", "harbin", "--no-rebuild")
    assert built.returncode == 0, built.stderr
    assert "Harbin" in built.stderr
    route = hazmat(
        installed, "route", "--config", "harbin", "--from", "126.58,45.74", "--to", "126.69,45.76",
        "--at", "2026-11-26T09:00:00+08:00", "--json",
    )  # fmt: skip
    assert route.returncode == 0, route.stderr
    assert json.loads(route.stdout)["status"] == "ok"
    demo = hazmat(installed, "demo", timeout=600)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert (installed / "work" / "out" / "demo-route.html").is_file()
