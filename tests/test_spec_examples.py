"""Golden tests: each file in spec/examples is accepted and gets the verdict its name says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hazmat.checking import judge
from tests.helpers import HERE, SETTINGS, SHARED_SPEC, SPEC

EXAMPLES = sorted((SPEC / "examples").glob("checkin-*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_gives_the_verdict_in_its_name(path: Path):
    expected = path.stem.split("-")[1]
    outcome = judge(1, path.read_text(encoding="utf-8"), SETTINGS)
    assert outcome.errors is None
    assert outcome.verdict is not None
    assert outcome.verdict.verdict == expected
    if expected == "refuse":
        assert outcome.verdict.findings


def test_tank_expired_example_names_tnk001():
    outcome = judge(1, (SPEC / "examples" / "checkin-refuse-tank-expired.json").read_text(encoding="utf-8"), SETTINGS)
    assert outcome.verdict is not None
    assert [f.rule_id for f in outcome.verdict.findings] == ["TNK-001"]


@pytest.mark.skipif(not SHARED_SPEC.is_dir(), reason="../shared/spec is not beside the repo")
def test_bundled_spec_copy_is_current():
    copy = HERE / "data" / "spec"
    for name in ["rules.md", *(f"examples/{p.name}" for p in (SHARED_SPEC / "examples").glob("*.json"))]:
        ours = copy / name
        assert ours.is_file(), f"tests/data/spec/{name} is missing; copy it from ../shared/spec"
        assert json.dumps(ours.read_text(encoding="utf-8")) == json.dumps(
            (SHARED_SPEC / name).read_text(encoding="utf-8")
        ), f"tests/data/spec/{name} differs from ../shared/spec/{name}; copy it again"
