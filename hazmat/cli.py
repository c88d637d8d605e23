"""The ``hazmat`` command (shared/spec/cli.md).

Exit codes: 0 done, 1 configuration or archive error (file and field, or the archive,
printed), 2 bad input, 3 no permitted route. Human-readable output on a terminal, JSON with ``--json`` or when the
input is JSON Lines or stdout is not a terminal.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hazmat import logs
from hazmat.archive import Archive, Entry, open_archive
from hazmat.archivewriter import ArchiveError, ArchiveWriter
from hazmat.checking import VERDICT_WORDS, Outcome, Records, archive_entry, judge, log_verdict
from hazmat.cityconfig import City, load_city
from hazmat.errors import ConfigError
from hazmat.events import EVENT_MODELS, Verdict, format_loc
from hazmat.flows import FlowStatus
from hazmat.rules import RuleSettings

EXIT_OK, EXIT_CONFIG, EXIT_INPUT, EXIT_NO_ROUTE = 0, 1, 2, 3

app = typer.Typer(
    name="hazmat",
    help="Checks hazardous-chemical road transport: pre-loading inspection, permitted routes, monitoring.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="City configuration.", no_args_is_help=True)
broker_app = typer.Typer(
    help="The local single-node Apache Kafka (KRaft) for development, tests and the demo.", no_args_is_help=True
)
archive_app = typer.Typer(help="The archive of judged check-ins (建档).", no_args_is_help=True)
graph_app = typer.Typer(help="The city's road graph.", no_args_is_help=True)
keys_app = typer.Typer(
    help="API keys of a city folder: only their SHA-256 is stored (api_keys.yaml).", no_args_is_help=True
)
app.add_typer(config_app, name="config")
app.add_typer(archive_app, name="archive")
app.add_typer(broker_app, name="broker")
app.add_typer(graph_app, name="graph")
app.add_typer(keys_app, name="keys")

log = logging.getLogger("hazmat.cli")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", "-c", help="City configuration folder or bundled city name (default: datong)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.callback()
def _main(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logs on stderr (-v, -vv).")] = 0,
) -> None:
    logs.setup([logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)])


@contextmanager
def _city(config: str | None) -> Iterator[City]:
    """Load and validate the city configuration, or stop with exit 1 naming file and field."""
    try:
        city = load_city(config)
    except ConfigError as exc:
        _config_failed(exc.problems)
    yield city


def _config_failed(problems: list[str]) -> NoReturn:
    """Print each configuration problem (file: field: message) and stop with exit 1."""
    err.print("[bold red]configuration error[/]", highlight=False)
    for problem in problems:
        err.print(f"  {problem}", markup=False)
    raise typer.Exit(EXIT_CONFIG) from None


def _json_line(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# --- hazmat check --------------------------------------------------------------------


def _print_verdict(v: Verdict) -> None:
    style, word = VERDICT_WORDS[v.verdict]
    out.print(f"[{style}]{word}[/]  {v.plate}  event {v.checkin_event_id}  at {v.decided_at.isoformat()}")
    if not v.findings:
        return
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("rule", "severity", "field", "message"):
        table.add_column(column)
    for f in v.findings:
        sev = "[red]refuse[/]" if f.severity == "refuse" else "[yellow]warn[/]"
        table.add_row(f.rule_id, sev, f.field, f"{f.message_zh}\n{f.message_en}")
    out.print(table)


def _print_error(o: Outcome) -> None:
    out.print(f"[bold red]INVALID 无效事件[/]  line {o.line}")
    for e in o.errors or []:
        out.print(f"  {format_loc(e['loc'])}: {e['msg']}", markup=False)


#: check-ins archived per transaction (and outputs written per flush) by ``hazmat check``
CHECK_BATCH = 1000
#: rows per table of ``--summary``, rendered as they fill so nothing grows with the input
SUMMARY_ROWS = 1000


_Outputs = tuple[list[str], list[Outcome], list[tuple[str, ...]]]  # a batch's JSON lines, outcomes, summary rows


class _CheckRun:
    """What ``hazmat check`` holds between flushes: a batch or two, never the whole input.

    Outcomes are written in input order, each batch only once its check-ins are in the
    archive, so every verdict printed is on record; the exit code needs only a counter.
    The first batch is archived here; from the second on (a big input), batches go to an
    :class:`ArchiveWriter` process and are confirmed one flush later, so the next batch is
    judged while the last one is written.
    """

    def __init__(
        self, store: Archive | None, target: Path | str, settings: RuleSettings, *, machine: bool, summary: bool
    ) -> None:
        self.store, self.target, self.settings, self.machine, self.summary = store, target, settings, machine, summary
        self.writer: ArchiveWriter | None = None
        self.entries: list[Entry] = []
        self.lines: list[str] = []  # JSON output of the batch
        self.outcomes: list[Outcome] = []  # human output of the batch
        self.batch_rows: list[tuple[str, ...]] = []  # --summary rows of the batch
        self.rows: list[tuple[str, ...]] = []  # --summary rows written out, not rendered yet
        self.unconfirmed: deque[_Outputs] = deque()  # batches the writer has, oldest first
        self.tables = 0
        self.loads = self.refused = self.invalid = 0

    def add(self, o: Outcome) -> None:
        if o.verdict is not None and o.checkin is not None:
            text = o.verdict.model_dump_json()  # once, for the output and the archive alike
            if self.store is not None or self.writer is not None:
                self.entries.append(archive_entry(o.raw, o.checkin, o.verdict, self.settings, verdict_json=text))
            log_verdict(log, o.verdict)
            if o.verdict.verdict == "load":
                self.loads += 1
            else:
                self.refused += 1
        else:
            text = _json_line(o.as_json())
            self.invalid += 1
            log.warning("invalid event", extra={"line": o.line, "errors": o.errors})
        if self.machine:
            self.lines.append(text)
        else:
            self.outcomes.append(o)
        if self.summary:
            self.batch_rows.append(_summary_row(o))
        if len(self.lines) + len(self.outcomes) >= CHECK_BATCH:
            self.flush(more=True)

    def flush(self, *, more: bool = False) -> None:
        """Archive the batch, then write out every batch the archive has confirmed.

        ``more``: the input goes on, so the batch just handed to the writer may be confirmed
        at the next flush; otherwise (the input waits or ended) everything is written out.
        Ctrl-C waits until the flush is done: a batch handed over by half (archived, its
        verdicts lost with the buffers; or half a frame on the writer's pipe) is worse than
        a moment's delay.
        """
        with _ctrl_c_deferred():
            self._flush(more)

    def _flush(self, more: bool) -> None:
        batch: _Outputs | None = (self.lines, self.outcomes, self.batch_rows)
        self.lines, self.outcomes, self.batch_rows = [], [], []
        if self.writer is not None and self.entries:
            self.writer.submit(self.entries)
            self.unconfirmed.append(batch)
            batch = None
        elif self.store is not None and self.entries:
            try:
                self.store.record(self.entries)
            except Exception as exc:
                raise ArchiveError(str(exc)) from exc
            if more:  # a big input: write from a process from now on
                self.writer = ArchiveWriter(self.target)
                self.store.close()
                self.store = None
        self.entries = []
        keep = 1 if more and batch is None else 0
        while len(self.unconfirmed) > keep and self.writer is not None:  # (only the writer's batches wait)
            self.writer.wait()
            self._write(*self.unconfirmed.popleft())
        if batch is not None:
            self._write(*batch)
        if len(self.rows) >= SUMMARY_ROWS:
            self._table()

    def _write(self, lines: list[str], outcomes: list[Outcome], rows: list[tuple[str, ...]]) -> None:
        self.rows.extend(rows)
        if lines:
            lines.append("")
            sys.stdout.write("\n".join(lines))
            sys.stdout.flush()
        for o in outcomes:
            if o.verdict is not None:
                _print_verdict(o.verdict)
            else:
                _print_error(o)
        if outcomes:
            out.file.flush()

    def close(self) -> None:
        """Stop the writer process, if any (after it has written what it was given)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.store is not None:
            self.store.close()
            self.store = None

    def _table(self) -> None:
        title = "check-ins 装货前查验" if not self.tables else None
        table = Table(title=title, header_style="bold")
        for column in ("line", "event", "plate", "site", "verdict", "rules"):
            table.add_column(column)
        for row in self.rows:
            table.add_row(*row)
        err.print(table)
        self.rows.clear()
        self.tables += 1

    def finish(self) -> None:
        self.flush()
        if self.summary:
            if self.rows or not self.tables:
                self._table()
            total = self.loads + self.refused + self.invalid
            err.print(
                f"{total} check-ins: [green]{self.loads} load[/], [red]{self.refused} refuse[/], {self.invalid} invalid"
            )


def _summary_row(o: Outcome) -> tuple[str, ...]:
    if o.verdict is None:
        return (str(o.line), "—", "—", "—", "[bold red]invalid[/]", format_loc(o.errors[0]["loc"]) if o.errors else "")
    v = o.verdict
    colour = "green" if v.verdict == "load" else "bold red"
    rules = ", ".join(f"{f.rule_id}{'' if f.severity == 'refuse' else '(warn)'}" for f in v.findings)
    site = o.checkin.site_id if o.checkin else ""
    return (str(o.line), v.checkin_event_id, v.plate, site, f"[{colour}]{v.verdict}[/]", rules)


@app.command()
def check(
    file: Annotated[str, typer.Argument(help="A file with one JSON check-in or JSON Lines; - for stdin.")] = "-",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    summary: Annotated[bool, typer.Option("--summary", help="Also print a summary table on stderr.")] = False,
    archive: Annotated[bool, typer.Option("--archive/--no-archive", help="Keep the verdicts in the archive.")] = True,
) -> None:
    """Judge check-ins without any broker: one verdict (or error object) per input.

    Exit 0 when every input was judged (load or refuse), 2 when any input was invalid.
    JSON Lines is streamed: verdicts come out as the lines come in, in input order, and are
    archived in batches, so memory stays flat however big the file.
    """
    try:
        stream = sys.stdin.buffer if file == "-" else open(file, "rb")  # noqa: SIM115 (closed below)
    except OSError as exc:
        err.print(f"[red]cannot read {file}:[/] {exc}")
        raise typer.Exit(EXIT_INPUT) from None
    try:
        with _city(config) as city:
            settings = city.rule_settings()
            try:
                records = Records(stream, tell_jsonl=not (as_json or not out.is_terminal))
            except OSError as exc:
                err.print(f"[red]cannot read {file}:[/] {exc}")
                raise typer.Exit(EXIT_INPUT) from None
            target = city.archive_path()
            try:
                store = open_archive(target) if archive else None
            except Exception as exc:
                err.print(f"[bold red]archive error[/] ({escape(_archive_name(target))}): {escape(str(exc))}")
                raise typer.Exit(EXIT_CONFIG) from None
            machine = as_json or not out.is_terminal or records.jsonl
            run = _CheckRun(store, target, settings, machine=machine, summary=summary)
            try:
                _judge_all(records, settings, run)
            except ArchiveError as exc:
                err.print(f"[bold red]archive error[/] ({escape(_archive_name(target))}): {escape(str(exc))}")
                raise typer.Exit(EXIT_CONFIG) from None
            finally:
                run.close()
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    raise typer.Exit(EXIT_INPUT if run.invalid else EXIT_OK)


@contextmanager
def _ctrl_c_deferred() -> Iterator[None]:
    """Hold SIGINT until the block ends, then raise it (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            raise KeyboardInterrupt


def _judge_all(records: Records, settings: RuleSettings, run: _CheckRun) -> None:
    """Judge record by record; on any other stop (a bug, Ctrl-C) what was judged is still archived and written."""
    try:
        for item in records:
            if item is None:  # the input has nothing ready: write out what is judged before waiting
                run.flush()
            else:
                run.add(judge(item[0], item[1], settings))
    except ArchiveError:
        raise
    except BaseException:
        with suppress(ArchiveError):  # the first error is the one to report
            run.flush()
        raise
    run.finish()


def _archive_name(target: Path | str) -> str:
    """The archive for an error message: a file path, or a database URL without its password."""
    text = str(target)
    if "://" in text and "@" in text:
        scheme, rest = text.split("://", 1)
        return f"{scheme}://…@{rest.rsplit('@', 1)[1]}"
    return text


# --- hazmat schema / rules -------------------------------------------------------------


@app.command()
def schema(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(EVENT_MODELS)}.")],
) -> None:
    """Print the JSON Schema of an event type."""
    model = EVENT_MODELS.get(name)
    if model is None:
        err.print(f"[red]no event type {name!r}[/]; choose one of: {', '.join(EVENT_MODELS)}")
        raise typer.Exit(EXIT_INPUT)
    print(json.dumps(model.model_json_schema(), ensure_ascii=False, indent=2))


@app.command("rules")
def rules_cmd(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Print the rule catalogue: check-in rules with the severities in force for the city, then the
    monitoring rules that live alerts enforce (every id an alert or finding can carry)."""
    from hazmat.rules import all_rules, monitoring_rules

    with _city(config) as city:
        overrides = city.rules.severities
    rows = [
        {
            "id": r.id,
            "severity": overrides.get(r.id, r.severity),
            "default_severity": r.severity,
            "part": r.part,
            "field": r.field,
            "summary_zh": r.summary_zh,
            "summary_en": r.summary_en,
            "basis": r.basis,
        }
        for r in all_rules()
    ]
    watched = [
        {
            "id": r.id,
            "severity": r.severity,
            "part": "monitoring",
            "alert_kind": r.kind,
            "summary_zh": r.summary_zh,
            "summary_en": r.summary_en,
            "basis": r.basis,
        }
        for r in monitoring_rules()
    ]
    if as_json or not out.is_terminal:
        for row in rows + watched:
            print(_json_line(row))
        return
    for title, table_rows, what in (
        ("inspection rules 装货前查验规则", rows, "field"),
        ("monitoring rules 动态监控规则 (alerts)", watched, "alert_kind"),
    ):
        table = Table(title=title, header_style="bold")
        for column in ("id", "severity", what.replace("_", " "), "rule", "basis"):
            table.add_column(column)
        for row in table_rows:
            table.add_row(
                row["id"], row["severity"], row[what], f"{row['summary_zh']}\n{row['summary_en']}", row["basis"]
            )
        out.print(table)


# --- hazmat config ---------------------------------------------------------------------


@config_app.command("validate")
def config_validate(config: ConfigOpt = None) -> None:
    """Check a city configuration folder and its api_keys.yaml; errors name the file and the field. Exit 1 on errors."""
    from hazmat.api.keys import read_keys_file
    from hazmat.cityconfig import resolve_city_dir

    try:
        folder = resolve_city_dir(config)
    except ConfigError as exc:
        _config_failed(exc.problems)
    problems: list[str] = []
    try:
        city = load_city(folder)
    except ConfigError as exc:
        problems += exc.problems
    try:
        keys = read_keys_file(folder)
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        _config_failed(problems)
    c = city.settings
    bl = city.blacklist
    out.print("[green]ok[/] ", end="")
    out.print(
        f"{city.folder}: {c.name} ({c.name_en}), province {c.province}, {c.timezone}; "
        f"{len(city.zones.zones)} zones{_designated_summary(city)}; {len(city.passes.passes)} passes; blacklist {len(bl.carriers)} carriers, {len(bl.plates)} plates, "
        f"{len(bl.persons)} persons; ruleset {city.rules.ruleset_version}; {_keys_summary(folder, keys.keys)}",
        markup=False,
    )


def _designated_summary(city: City) -> str:
    areas = sum(1 for z in city.zones.zones if z.properties.kind == "designated_area")
    return f" ({areas} designated areas, {len(city.zones.roads)} designated roads)" if areas else ""


def _keys_summary(folder: Path, keys: list[Any]) -> str:
    from hazmat.cityfolder import is_template

    if keys:
        roles = {role: sum(1 for k in keys if k.role == role) for role in ("police", "dispatcher", "site")}
        return f"{len(keys)} API keys (" + ", ".join(f"{n} {role}" for role, n in roles.items() if n) + ")"
    if is_template(folder):
        return f"no API keys (a bundled template: hazmat config init DIR --from {folder.name})"
    return f"no API keys: the API admits nobody (hazmat keys add --config {folder} --role police)"


@config_app.command("init")
def config_init(
    folder: Annotated[Path, typer.Argument(help="The new city folder: missing or empty.")],
    source: Annotated[
        str, typer.Option("--from", help="The bundled city (or a city folder) to copy; its API keys are not copied.")
    ] = "datong",
    force: Annotated[
        bool,
        typer.Option("--force", help="Write into a non-empty folder: the template's files overwrite their copies."),
    ] = False,
) -> None:
    """Copy a bundled city into a folder of your own, to add API keys to and deploy (no keys are copied)."""
    from hazmat.cityfolder import init_city

    try:
        written = init_city(folder, source, force=force)
        city = load_city(folder)
    except ConfigError as exc:
        _config_failed(exc.problems)
    target = city.folder
    out.print(f"made {target} from {source}: {len(written)} files, no API keys", markup=False)
    out.print("next:", markup=False)
    out.print(f"  hazmat keys add --config {target} --role police --name 'traffic police'", markup=False)
    if city.settings.graph.source != "file":
        out.print(f"  hazmat graph build --config {target}    (downloads the road graph once)", markup=False)
    out.print(f"  hazmat serve --config {target} --host 0.0.0.0", markup=False)


# --- hazmat keys -----------------------------------------------------------------------


def _keys_folder(config: str | None) -> Path:
    from hazmat.cityconfig import resolve_city_dir

    try:
        return resolve_city_dir(config)
    except ConfigError as exc:
        _config_failed(exc.problems)


@keys_app.command("add")
def keys_add(
    role: Annotated[str, typer.Option("--role", help="site, dispatcher or police.")],
    site: Annotated[str | None, typer.Option("--site", help="For --role site: the site id it may post for.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Who holds it (unique); default: the role.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Make a random key, print it once on stdout and store only its SHA-256 in the folder's api_keys.yaml.

    Exit 1 for a bundled city (copy it first with ``hazmat config init``) or a broken file,
    2 for a bad role, a missing --site or a name already taken.
    """
    from hazmat.api.keys import KeyChangeError, add_key

    folder = _keys_folder(config)
    try:
        secret, entry = add_key(folder, role=role, site_id=site, name=name)
    except ConfigError as exc:
        _config_failed(exc.problems)
    except KeyChangeError as exc:
        err.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(EXIT_INPUT) from None
    print(secret, flush=True)
    where = f", site {entry.site_id}" if entry.site_id else ""
    err.print(
        f"added '{entry.name}' ({entry.role}{where}, hash {entry.prefix}) to {folder / 'api_keys.yaml'}.\n"
        "The key above is shown this once only: the file keeps just its hash. Hand it over now.",
        markup=False,
    )


@keys_app.command("list")
def keys_list(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """The folder's keys: name, role, site, created and the start of the hash (the keys themselves are not stored)."""
    from hazmat.api.keys import read_keys_file

    folder = _keys_folder(config)
    try:
        keys = read_keys_file(folder).keys
    except ConfigError as exc:
        _config_failed(exc.problems)
    rows = [
        {
            "name": k.name,
            "role": k.role,
            "site_id": k.site_id,
            "created_at": k.created_at.isoformat() if k.created_at else None,
            "sha256_prefix": k.prefix,
        }
        for k in keys
    ]
    if as_json or not out.is_terminal:
        for row in rows:
            print(_json_line(row))
    else:
        table = Table(title=f"API keys of {folder}", header_style="bold")
        for column in ("name", "role", "site", "created", "sha256"):
            table.add_column(column)
        for row in rows:
            table.add_row(
                row["name"], row["role"], row["site_id"] or "—", row["created_at"] or "—", row["sha256_prefix"] + "…"
            )
        out.print(table)
    if not rows:
        err.print(f"no keys: {_keys_summary(folder, [])}", markup=False)


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[
        str, typer.Argument(help="The key's name, or the start of its hash (6+ hex digits, from keys list).")
    ],
    config: ConfigOpt = None,
) -> None:
    """Remove a key; a running ``hazmat serve`` refuses it from its next request on. Exit 2 when no key matches."""
    from hazmat.api.keys import KeyChangeError, revoke_key

    folder = _keys_folder(config)
    try:
        gone = revoke_key(folder, key)
    except ConfigError as exc:
        _config_failed(exc.problems)
    except KeyChangeError as exc:
        err.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(EXIT_INPUT) from None
    err.print(f"revoked '{gone.name}' ({gone.role}, hash {gone.prefix}) from {folder / 'api_keys.yaml'}", markup=False)


@config_app.command("docs")
def config_docs() -> None:
    """Print every configuration setting with its default (the text of docs/configuration.md)."""
    from hazmat.settings_doc import render

    print(render(), end="")


# --- hazmat archive --------------------------------------------------------------------


def _parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        err.print(f"[red]{option}: {value!r} is not an RFC 3339 time[/] (e.g. 2026-11-26T08:00:00+08:00)")
        raise typer.Exit(EXIT_INPUT) from None
    if ts.tzinfo is None:
        err.print(f"[red]{option}: {value!r} has no offset[/]; add one, e.g. +08:00")
        raise typer.Exit(EXIT_INPUT)
    return ts


OlderThanOpt = Annotated[
    float | None,
    typer.Option("--older-than", help="Hours since loading; default: the city's flow_overdue_h."),
]


@archive_app.command("query")
def archive_query(
    plate: Annotated[str | None, typer.Option(help="Vehicle plate.")] = None,
    site: Annotated[str | None, typer.Option(help="Loading site id.")] = None,
    rule: Annotated[str | None, typer.Option(help="Rule id that fired, e.g. TNK-001.")] = None,
    since: Annotated[str | None, typer.Option(help="From this time on (RFC 3339).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (RFC 3339).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many records.")] = 1000,
    open_flows: Annotated[
        bool, typer.Option("--open-flows", help="The same as `hazmat archive flows` (kept for older scripts).")
    ] = False,
    older_than: OlderThanOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Look up archived check-ins and verdicts; ``--json`` prints one archived record per line."""
    if open_flows:
        archive_flows(plate=plate, older_than=older_than, config=config, as_json=as_json)
        return
    since_ts, until_ts = _parse_time(since, "--since"), _parse_time(until, "--until")
    with _city(config) as city:
        store = open_archive(city.archive_path())
    try:
        records = store.query(plate=plate, site_id=site, rule_id=rule, since=since_ts, until=until_ts, limit=limit)
    finally:
        store.close()
    if as_json or not out.is_terminal:
        for r in records:
            print(_json_line(r.as_json()))
        return
    table = Table(title=f"archive 建档 ({len(records)} records)", header_style="bold")
    for column in ("occurred at", "event", "plate", "site", "verdict", "rules", "ruleset"):
        table.add_column(column)
    for r in records:
        v = r.verdict
        colour = "green" if v.verdict == "load" else "bold red"
        table.add_row(
            r.occurred_at.astimezone(city.tz).isoformat(),
            r.event_id,
            r.plate,
            r.site_id,
            f"[{colour}]{v.verdict}[/]",
            ", ".join(f.rule_id for f in v.findings),
            v.ruleset_version,
        )
    out.print(table)


@archive_app.command("flows")
def archive_flows(
    plate: Annotated[str | None, typer.Option(help="Vehicle plate.")] = None,
    older_than: OlderThanOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """High-hazard loads (流向) not delivered yet, loaded more than ``--older-than`` hours ago, with
    where each vehicle was last seen."""
    with _city(config) as city:
        store = open_archive(city.archive_path())
    try:
        hours = city.settings.flow_overdue_h if older_than is None else older_than
        cutoff = datetime.now(city.tz) - timedelta(hours=hours)
        flows = store.flows(plate=plate, open_only=True, opened_before=cutoff)
    finally:
        store.close()
    _print_flows(flows, hours, city, as_json)


def _print_flows(flows: list[FlowStatus], hours: float, city: City, as_json: bool) -> None:
    if as_json or not out.is_terminal:
        for f in flows:
            print(_json_line(f.as_json()))
        return
    table = Table(title=f"open flows 未送达流向 (loaded over {hours:g} h ago: {len(flows)})", header_style="bold")
    for column in ("loaded at", "plate", "UN", "name", "kg", "consignee", "destination", "last seen"):
        table.add_column(column)
    for s in flows:
        f, last = s.flow, s.last
        seen = f"{last.at.astimezone(city.tz):%m-%d %H:%M} {last.lon:.4f},{last.lat:.4f}" if last else "—"
        table.add_row(
            f.opened_at.astimezone(city.tz).isoformat(),
            f.plate,
            f.un_number,
            f.name,
            f"{f.quantity_kg:g}",
            f.consignee or "—",
            f.destination or "—",
            seen,
        )
    out.print(table)


# --- hazmat broker / worker / demo ------------------------------------------------------

PortOpt = Annotated[int, typer.Option("--port", help="Port on 127.0.0.1; 0 reuses the last one or picks a free one.")]


@broker_app.command("start")
def broker_start(port: PortOpt = 0) -> None:
    """Start the broker (fetching Kafka from Maven Central on first use); print its bootstrap address last."""
    from hazmat import broker

    try:
        info = broker.start(port=port or None, progress=lambda line: err.print(line, markup=False))
    except broker.BrokerError as exc:
        err.print(f"[red]broker:[/] {exc}")
        raise typer.Exit(1) from None
    err.print(f"broker running (pid {info.pid}, data in {info.home})")
    print(info.bootstrap)


@broker_app.command("stop")
def broker_stop() -> None:
    """Stop the local broker."""
    from hazmat import broker

    err.print("broker stopped" if broker.stop() else "no broker was running")


@broker_app.command("status")
def broker_status() -> None:
    """Print the bootstrap address while the broker runs; exit 1 when it does not."""
    from hazmat import broker

    info = broker.status()
    if info is None:
        err.print("not running")
        raise typer.Exit(1)
    print(info.bootstrap)


@app.command()
def worker(config: ConfigOpt = None) -> None:
    """Run the stream processors against KAFKA_BOOTSTRAP_SERVERS, else the running local broker."""
    import os

    from hazmat.streams.admin import ensure_topics
    from hazmat.streams.bootstrap import NoBrokerError, bootstrap_servers
    from hazmat.streams.settings import WorkerSettingsError, from_env

    with _city(config) as city:
        os.environ["HAZMAT_CITY"] = str(city.folder)
    try:
        from_env()  # a bad HAZMAT_* worker setting stops the start, naming the variable
        servers = bootstrap_servers()
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = servers
        ensure_topics(servers)
    except (NoBrokerError, ConnectionError, WorkerSettingsError) as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    from hazmat.streams.worker import run

    run()


@app.command()
def demo(
    config: Annotated[
        str, typer.Option("--config", "-c", help="City (default: harbin, with its road graph).")
    ] = "harbin",
    keep_broker: Annotated[bool, typer.Option("--keep-broker", help="Leave the broker running afterwards.")] = False,
) -> None:
    """The main job on the embedded default: broker, worker, check-ins, a route, a trip; results live, a map."""
    from hazmat.demo import run_demo

    with _city(config) as city:
        code = run_demo(city, out=out, err=err, keep_broker=keep_broker)
    raise typer.Exit(code)


# --- hazmat graph / route --------------------------------------------------------------

RouteCityOpt = Annotated[
    str, typer.Option("--config", "-c", help="City configuration folder or bundled city name (default: harbin).")
]


def _load_graph(city: City, *, rebuild: bool = False, download: bool = False) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from hazmat.routing import graph as road_graph

    try:
        with Progress(
            TextColumn("[bold]road graph[/] {task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("loading", total=1.0)
            return road_graph.load(
                city,
                rebuild=rebuild,
                download=download,
                progress=lambda label, fraction: bar.update(task, description=label, completed=fraction),
            )
    except road_graph.GraphSourceError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(EXIT_CONFIG) from None


@graph_app.command("build")
def graph_build(
    config: RouteCityOpt = "harbin", rebuild: Annotated[bool, typer.Option(help="Ignore the cache.")] = True
) -> None:
    """Build and cache the city's road graph (osmnx, truck roads, hazmat tags), with a progress bar.

    A city whose graph.source is a place name or bbox is downloaded from OpenStreetMap here
    (the one command that uses the network); later commands and workers use the cache. The
    search's two contraction-hierarchy topologies are built and saved too (about a minute per
    million nodes), so a worker start only loads them.
    """
    import time

    from hazmat.routing import graph as road_graph
    from hazmat.routing import metrics

    with _city(config) as city:
        started = time.monotonic()
        g = _load_graph(city, rebuild=rebuild, download=True)
        built = time.monotonic()
        saved = metrics.prepare(g)
        err.print(
            f"{city.settings.name_en}: {g.number_of_nodes():,} nodes, {g.number_of_edges():,} edges "
            f"in {built - started:.1f} s; cached at {road_graph.cache_path(city)}; search topologies "
            f"in {time.monotonic() - built:.1f} s at {saved[0].parent}"
        )


def _lonlat(value: str, option: str) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in value.split(","))
    except ValueError:
        err.print(f"[red]{option}: {value!r} is not LON,LAT[/] (e.g. 126.58,45.74)")
        raise typer.Exit(EXIT_INPUT) from None
    return lon, lat


@app.command()
def route(
    origin: Annotated[str, typer.Option("--from", help="Origin as LON,LAT.")],
    destination: Annotated[str, typer.Option("--to", help="Destination as LON,LAT.")],
    at: Annotated[str | None, typer.Option("--at", help="Departure (RFC 3339); default now.")] = None,
    un: Annotated[list[str] | None, typer.Option("--un", help="UN number of a load item (repeat).")] = None,
    hazard_class: Annotated[
        list[str] | None, typer.Option("--class", help="Hazard class of a load item (repeat).")
    ] = None,
    optimize: Annotated[str, typer.Option(help="time or distance.")] = "time",
    plate: Annotated[
        str | None,
        typer.Option(
            "--plate", help="The vehicle: its valid passes in the city's passes.yaml apply (routing.md item 6)."
        ),
    ] = None,
    geojson_file: Annotated[Path | None, typer.Option("--geojson", help="Write route and zones as GeoJSON.")] = None,
    map_file: Annotated[Path | None, typer.Option("--map", help="Write an HTML map.")] = None,
    config: RouteCityOpt = "harbin",
    as_json: JsonOpt = False,
) -> None:
    """A permitted route for one load. Exit 0 ok, 3 no permitted route, 2 bad input, no road nearby or outside the map.

    With --plate, the passes of that vehicle in the city's passes.yaml apply (a passes.yaml that breaks the rules
    stops with exit 1, naming the pass and the reason).
    """
    from datetime import datetime as _dt

    from hazmat.events import InvalidEvent, RouteRequest, decode
    from hazmat.passes import PassBook
    from hazmat.routing.mapview import dumps_geojson, html_map
    from hazmat.routing.router import Router

    uns, classes = un or ["UN1005"], hazard_class or (["2.3"] if not un else [])
    if len(uns) != len(classes):
        err.print("[red]give one --class per --un[/] (e.g. --un UN1005 --class 2.3)")
        raise typer.Exit(EXIT_INPUT)
    with _city(config) as city:
        depart = _parse_time(at, "--at") or _dt.now(city.tz).replace(microsecond=0)
        items = [{"un_number": u, "hazard_class": c, "quantity_kg": 1000.0} for u, c in zip(uns, classes, strict=True)]
        body = RouteRequest.body(
            f"cli-{depart.strftime('%Y%m%d%H%M%S')}",
            plate or f"{city.settings.province}A00000",
            items,
            _lonlat(origin, "--from"),
            _lonlat(destination, "--to"),
            depart.isoformat(),
            optimize,
        )
        try:
            request = decode(RouteRequest, json.dumps(body, ensure_ascii=False))
        except InvalidEvent as exc:
            for e in exc.errors:
                err.print(f"[red]{format_loc(e['loc'])}: {e['msg']}[/]", markup=True)
            raise typer.Exit(EXIT_INPUT) from None
        router = Router(_load_graph(city), city)
        router.passes = PassBook(city.passes.passes)
    result = router.plan(request)
    asked = {
        "origin": (request.origin.lon, request.origin.lat),
        "destination": (request.destination.lon, request.destination.lat),
    }  # the map and the GeoJSON draw the connectors from them to the snapped ends
    if geojson_file:
        geojson_file.write_text(dumps_geojson(result, router, **asked), encoding="utf-8")
    if map_file:
        title = f"{city.settings.name} {result.route_id}"
        map_file.write_text(html_map(result, router, title=title, **asked), encoding="utf-8")
    if as_json or not out.is_terminal:
        print(result.model_dump_json())
    else:
        _print_route(result)
    # no_road_nearby and outside_map: the points given are the problem (cli.md: exit 2)
    raise typer.Exit({"ok": EXIT_OK, "no_permitted_route": EXIT_NO_ROUTE}.get(result.status, EXIT_INPUT))


def _print_route(r: Any) -> None:
    if r.status == "ok":
        out.print(
            f"[green]ok[/] {r.length_m / 1000:.2f} km, {r.duration_s / 60:.1f} min, arrive {r.arrive_at.isoformat()}"
        )
        out.print(f"  snapped onto the road: origin {r.origin_snap_m:.0f} m, destination {r.destination_snap_m:.0f} m")
        for a in r.avoided:
            out.print(f"  avoided {a.zone_id or a.kind}: {a.reason_zh} / {a.reason_en}", markup=False)
        if r.passes_used:
            out.print(f"  passes used 通行证: {', '.join(r.passes_used)}", markup=False)
        return
    out.print(f"[bold red]{r.status}[/] {r.reason_zh} / {r.reason_en}")
    if r.earliest_departure_at:
        out.print(f"  earliest permitted departure: {r.earliest_departure_at.isoformat()}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    config: ConfigOpt = None,
) -> None:
    """The HTTP API (OpenAPI docs at /docs) and the web page at /, against KAFKA_BOOTSTRAP_SERVERS or the local broker."""
    import uvicorn

    from hazmat.api.app import create_app
    from hazmat.streams.admin import ensure_topics
    from hazmat.streams.bootstrap import NoBrokerError, bootstrap_servers

    with _city(config) as city:
        _check_keys_before_serving(city.folder, host)
        try:
            servers = bootstrap_servers()
            ensure_topics(servers)
            web = create_app(city, servers)
        except (NoBrokerError, ConnectionError) as exc:
            err.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from None
        except ConfigError as exc:
            for problem in exc.problems:
                err.print(f"  {problem}", markup=False)
            raise typer.Exit(EXIT_CONFIG) from None
    err.print(f"hazmat API for {city.settings.name_en} on http://{host}:{port}/ (docs at /docs), Kafka {servers}")
    uvicorn.run(web, host=host, port=port, log_level="warning")


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def _check_keys_before_serving(folder: Path, host: str) -> None:
    """Refuse to listen beyond this machine while no key exists; on loopback, warn that all gets 401.

    Checked before Kafka is touched or a port is bound. Bundled cities ship no keys, so a
    deployment must make its own (README: HTTP API).
    """
    from hazmat.api.keys import read_keys_file
    from hazmat.cityfolder import is_template

    try:
        keys = read_keys_file(folder).keys
    except ConfigError as exc:
        _config_failed(exc.problems)
    if keys:
        return
    path = folder / "api_keys.yaml"
    state = "has no keys" if path.is_file() else "is missing"
    if is_template(folder):
        fix = (
            f"hazmat config init DIR --from {folder.name}, then hazmat keys add --config DIR --role police, "
            "and serve with --config DIR"
        )
    else:
        fix = f"hazmat keys add --config {folder} --role police"
    if not _is_loopback(host):
        err.print(
            f"refusing to serve on {host}: {path} {state} (the bundled cities ship no keys). Make a key first: {fix}",
            style="red",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(EXIT_CONFIG)
    log.warning(
        "no API keys: every request that needs a key gets 401",
        extra={"file": str(path), "state": state, "fix": fix},
    )


def _register_passes() -> None:
    """``hazmat pass …`` lives in its own module (``hazmat/cli_passes.py``), which reads this one's helpers."""
    from hazmat.cli_passes import pass_app

    app.add_typer(pass_app, name="pass")


_register_passes()


def main() -> None:
    app()
