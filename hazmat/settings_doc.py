"""Render every configuration setting and its default from the config models.

``docs/configuration.md`` is this output; a test keeps the two equal, so the docs cannot
drift from the code.
"""

from __future__ import annotations

import json
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from hazmat.api.keys import ApiKey
from hazmat.cityconfig import (
    BlacklistFile,
    CityFile,
    GraphSource,
    PassesFile,
    RoadProperties,
    RulesFile,
    SpeedCaps,
    TunnelCodes,
    Window,
    ZoneProperties,
)
from hazmat.streams.settings import WorkerSettings, env_name

_SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("city.yaml", CityFile),
    ("city.yaml: graph", GraphSource),
    ("city.yaml: speed_caps_kmh", SpeedCaps),
    ("rules.yaml", RulesFile),
    ("rules.yaml: tunnel_codes", TunnelCodes),
    ("blacklist.yaml", BlacklistFile),
    ("zones.geojson: feature properties", ZoneProperties),
    ("zones.geojson: properties.windows[]", Window),
    ("zones.geojson: designated_road feature properties", RoadProperties),
    ("passes.yaml (optional)", PassesFile),
    ("api_keys.yaml: keys[]", ApiKey),
    ("worker: environment", WorkerSettings),
]


def _default(field: Any) -> str:
    if field.default is not PydanticUndefined:
        value = field.default
    elif field.default_factory is not None:
        value = field.default_factory()
    else:
        return "required"
    if isinstance(value, BaseModel):
        return "see below"
    return "`" + json.dumps(value, ensure_ascii=False, default=str) + "`"


def _type_text(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _type_text(args[0])
    if origin is Literal:
        return " | ".join(json.dumps(a, ensure_ascii=False) for a in args)
    if origin in (Union, UnionType):
        return " | ".join(_type_text(a) for a in args)
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(_type_text(a) for a in args)}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _type(annotation: Any) -> str:
    return _type_text(annotation).replace("|", "\\|")


def render() -> str:
    lines = [
        "# Configuration settings",
        "",
        "Generated from the models in `hazmat/cityconfig.py` and `streams/settings.py` by `hazmat config docs`; do not edit by hand.",
        "A city folder is `config/cities/<name>/`; `hazmat config validate --config <name>` checks it.",
        "Environment: `HAZMAT_CITY` (city folder or name), `HAZMAT_ARCHIVE` (archive file), `HAZMAT_TOPIC_PREFIX`",
        "(topics' and consumer group's prefix), `KAFKA_BOOTSTRAP_SERVERS`; the worker's own settings are the last",
        "section: at-least-once by default (idempotent by event id), exactly-once a setting.",
        "",
    ]
    for title, model in _SECTIONS:
        doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
        lines += [
            f"## {title}",
            "",
            doc,
            "",
            "| key | type | default | meaning |",
            "| --- | --- | --- | --- |",
        ]
        for name, field in model.model_fields.items():
            key = env_name(name) if model is WorkerSettings else name
            lines.append(f"| `{key}` | {_type(field.annotation)} | {_default(field)} | {field.description or ''} |")
        lines.append("")
    return "\n".join(lines)
