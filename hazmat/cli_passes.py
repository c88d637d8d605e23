"""``hazmat pass issue|revoke|list``: the traffic police's passes (通行证) on the ``hazmat.passes`` topic.

A pass is checked against the city before it is produced (routing.md item 6: a zone of the
city that a pass may open, never a water source; ``--until`` after ``--from``), so a refused
pass never reaches the workers; they check it again. Exit codes as ``hazmat``: 2 for a pass
the city refuses or bad input, 1 for a configuration error or no broker.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hazmat.cli import EXIT_CONFIG, EXIT_INPUT, ConfigOpt, JsonOpt, _city, _json_line, _parse_time, err, out
from hazmat.events import InvalidEvent, Pass, decode, format_loc
from hazmat.passes import pass_problems

pass_app = typer.Typer(
    help="Police passes (通行证): issue, revoke and list them on the hazmat.passes topic the workers follow.",
    no_args_is_help=True,
)


def _bootstrap() -> str:
    """The broker (``KAFKA_BOOTSTRAP_SERVERS`` or the local one), with the spec's topics created; exit 1 without."""
    from hazmat.streams.admin import ensure_topics
    from hazmat.streams.bootstrap import NoBrokerError, bootstrap_servers

    try:
        servers = bootstrap_servers()
        ensure_topics(servers)
    except (NoBrokerError, ConnectionError) as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(EXIT_CONFIG) from None
    return servers


def _route(path: Path | None) -> dict[str, Any] | None:
    """A GeoJSON LineString from a file: the geometry itself, a Feature, or a FeatureCollection of one line."""
    if path is None:
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        err.print(f"[red]--route: {path}: {exc}[/]")
        raise typer.Exit(EXIT_INPUT) from None
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        lines = [
            f.get("geometry") for f in doc.get("features", []) if (f.get("geometry") or {}).get("type") == "LineString"
        ]
        doc = lines[0] if len(lines) == 1 else {"type": f"{len(lines)} LineStrings"}
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = doc.get("geometry")
    if not isinstance(doc, dict) or doc.get("type") != "LineString":
        kind = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        err.print(f"[red]--route: {path}: a pass's route is one GeoJSON LineString, not {kind}[/]")
        raise typer.Exit(EXIT_INPUT)
    return {"type": "LineString", "coordinates": doc.get("coordinates")}


def _refused(errors: list[dict[str, Any]]) -> typer.Exit:
    err.print("[bold red]pass refused[/]")
    for e in errors:
        err.print(f"  {format_loc(e['loc'])}: {str(e['msg']).removeprefix('Value error, ')}", markup=False)
    return typer.Exit(EXIT_INPUT)


@pass_app.command("issue")
def pass_issue(
    plate: Annotated[str, typer.Option("--plate", help="The vehicle the pass is for, e.g. 黑A12345.")],
    zones: Annotated[
        list[str], typer.Option("--zone", help="A zone it opens (repeat): restricted, closure, designated_area.")
    ],
    until: Annotated[str, typer.Option("--until", help="Valid until (RFC 3339, with offset).")],
    issued_by: Annotated[str, typer.Option("--issued-by", help="The issuing office.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it was granted.")],
    since: Annotated[str | None, typer.Option("--from", help="Valid from (RFC 3339); default now.")] = None,
    route_file: Annotated[
        Path | None,
        typer.Option("--route", help="GeoJSON file with one LineString: the pass opens its zones only along it."),
    ] = None,
    pass_id: Annotated[
        str | None,
        typer.Option("--id", help="Pass id; default P-<date>-<random>. Re-issuing an id replaces that pass."),
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue a pass: checked against the city's zones, then produced to hazmat.passes (key: its id)."""
    from hazmat.streams import pass_topic

    with _city(config) as city:
        start = _parse_time(since, "--from") or datetime.now(city.tz).replace(microsecond=0)
        body = {
            "schema_version": 1,
            "pass_id": pass_id or f"P-{start.strftime('%Y%m%d')}-{uuid.uuid4().hex[:8]}",
            "plate": plate,
            "zone_ids": zones,
            "valid_from": start.isoformat(),
            "valid_until": until,
            "route": _route(route_file),
            "issued_by": issued_by,
            "reason": reason,
        }
        try:
            granted = decode(Pass, json.dumps(body, ensure_ascii=False))
        except InvalidEvent as exc:
            raise _refused(exc.errors) from None
        problems = pass_problems(granted, city.zones.features)
        if problems:
            raise _refused(problems)
    raw = granted.model_dump_json().encode("utf-8")
    pass_topic.send(_bootstrap(), granted.pass_id, raw)
    if as_json or not out.is_terminal:
        print(raw.decode("utf-8"))
    else:
        along = " along its route" if granted.route else ""
        out.print(
            f"[green]issued[/] {granted.pass_id}: {granted.plate} may enter {', '.join(granted.zone_ids)}{along} "
            f"from {granted.valid_from.isoformat()} until {granted.valid_until.isoformat()}",
            highlight=False,
        )


@pass_app.command("revoke")
def pass_revoke(
    pass_id: Annotated[str, typer.Argument(help="The pass to revoke.")],
    config: ConfigOpt = None,
) -> None:
    """Revoke a pass: a tombstone (null value) for its id on hazmat.passes. Exit 2 when no such pass is in force."""
    from hazmat.streams import pass_topic

    with _city(config) as city:
        servers = _bootstrap()
        book, _ = pass_topic.read(servers, city.zones.features)
    if book.get(pass_id) is None:
        err.print(f"[red]no pass {pass_id!r} on the topic[/]; `hazmat pass list --all` shows them")
        raise typer.Exit(EXIT_INPUT)
    pass_topic.send(servers, pass_id, None)
    err.print(f"revoked {pass_id}")


@pass_app.command("list")
def pass_list(
    plate: Annotated[str | None, typer.Option("--plate", help="Only this vehicle's passes.")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Also the passes not valid now (expired or later).")] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The passes on hazmat.passes as every worker holds them: by default those valid now."""
    from hazmat.streams import pass_topic

    with _city(config) as city:
        book, refused = pass_topic.read(_bootstrap(), city.zones.features)
        now = datetime.now(city.tz)
    shown = [
        p
        for p in sorted(book, key=lambda p: (p.plate, p.valid_from, p.pass_id))
        if (plate is None or p.plate == plate) and (show_all or p.valid_from <= now < p.valid_until)
    ]
    if as_json or not out.is_terminal:
        for p in shown:
            print(_json_line(p.model_dump(mode="json")))
        return
    table = Table(title=f"通行证 passes ({'all' if show_all else 'valid now'})", header_style="bold")
    for column in ("pass", "plate", "zones", "valid from", "valid until", "route", "issued by", "reason"):
        table.add_column(column)
    for p in shown:
        table.add_row(
            p.pass_id, p.plate, ", ".join(p.zone_ids), p.valid_from.isoformat(), p.valid_until.isoformat(),
            "yes" if p.route else "—", p.issued_by, p.reason,
        )  # fmt: skip
    out.print(table)
    if refused:
        err.print(f"{refused} message(s) on the topic were refused (dead letters): not passes in force")
