"""Test helpers: the spec's valid check-in, changed one field at a time, and judged."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hazmat.events import CheckIn, Finding, Verdict, decode
from hazmat.rules import RuleSettings, evaluate

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED_SPEC = REPO.parent / "shared" / "spec"
SPEC = SHARED_SPEC if SHARED_SPEC.is_dir() else HERE / "data" / "spec"
SETTINGS = RuleSettings()

_BASE: dict[str, Any] = json.loads((SPEC / "examples" / "checkin-load.json").read_text(encoding="utf-8"))


def base() -> dict[str, Any]:
    """A fresh copy of ``checkin-load.json``: valid, and judged ``load``."""
    return copy.deepcopy(_BASE)


def put(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set ``a.b[0].c`` in nested data (``value`` of ``...`` deletes the key); returns ``data``."""
    parts: list[str | int] = []
    for chunk in path.split("."):
        name, _, rest = chunk.partition("[")
        parts.append(int(name) if name.isdigit() else name)
        while rest:
            index, _, rest = rest.partition("]")
            parts.append(int(index))
            rest = rest.removeprefix("[")
    target: Any = data
    for part in parts[:-1]:
        target = target[part]
    if value is ...:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value
    return data


def changed(**changes: Any) -> dict[str, Any]:
    """``base()`` with fields changed; ``__`` stands for ``.``: ``load__0__quantity_kg=1``."""
    data = base()
    for key, value in changes.items():
        put(data, key.replace("__", "."), value)
    return data


def to_checkin(data: dict[str, Any]) -> CheckIn:
    return decode(CheckIn, json.dumps(data, ensure_ascii=False))


def judge(data: dict[str, Any], settings: RuleSettings = SETTINGS) -> Verdict:
    return evaluate(to_checkin(data), settings, strict=True)


def findings(data: dict[str, Any], settings: RuleSettings = SETTINGS) -> list[Finding]:
    return judge(data, settings).findings


def only(data: dict[str, Any], settings: RuleSettings = SETTINGS) -> Finding:
    """The single finding the data gives; fails listing them when there is not exactly one."""
    found = findings(data, settings)
    assert len(found) == 1, [(f.rule_id, f.field) for f in found]
    return found[0]


def rule_ids(data: dict[str, Any], settings: RuleSettings = SETTINGS) -> list[str]:
    return [f.rule_id for f in findings(data, settings)]
