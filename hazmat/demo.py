"""``hazmat demo``: the main job end to end on the embedded default (shared/spec/cli.md).

Starts the local Kafka broker and a worker, then plays a morning in Harbin through Kafka:
a loading site's check-ins (plus one broken message, to show the dead-letter path), a
dispatcher's route request for a loaded vehicle, that vehicle's trip with a detour into
the restricted centre, plus a vehicle driving without any check-in, and the deliveries
that close the other loads' high-hazard flows. Verdicts, routes, alerts and dead letters
are printed live as they come back; the route is written as a map.

Every run is the same, at any hour and however often it ran before: the samples' morning
is moved to today (``hazmat.demo_samples``), and the run has its own topics, consumer group
and event ids, deleted or closed when it ends, also on Ctrl-C, or by the next run when it
could not (``hazmat.demo_run``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from hazmat import broker
from hazmat.alerts import verdict_alerts
from hazmat.checking import VERDICT_WORDS, judge
from hazmat.cityconfig import CITIES_DIR, City
from hazmat.demo_run import (
    CLOSED_HOW,
    DemoBusyError,
    DemoHome,
    RunState,
    close_open_flows,
    delete_demo_topics,
    event_id,
    new_run_id,
    open_flows,
    signals_as_interrupt,
    stop_stale_worker,
    topic_prefix,
    uninterrupted,
)
from hazmat.demo_samples import demo_shift, shift_dates, step_days
from hazmat.events import Route, RouteRequest
from hazmat.flows import opened_by

DEMO_TIMEOUT_S = 240.0
#: partitions of a demo run's topics unless HAZMAT_PARTITIONS says otherwise (:func:`demo_partitions`)
DEMO_PARTITIONS = 3
BROKEN_MESSAGE = b'{"schema_version": 1, "event_id": "demo-broken", "vehicle": {"plate": "XX"}'
#: the dispatcher's request: across the centre, whose daytime restriction the route must avoid
TRIP_FROM, TRIP_TO = (126.58, 45.74), (126.69, 45.76)
DETOUR = (126.632, 45.753)  # a point inside the restricted centre (rs-daoli-nangang)
MAP_FILE = Path("out") / "demo-route.html"


def _sample_lines(city: City) -> list[str]:
    path = city.folder / "samples" / "morning-checkins.jsonl"
    if not path.is_file():
        path = CITIES_DIR / "harbin" / "samples" / path.name
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _written_times(city: City) -> dict[str, datetime]:
    """Each sample's event id and time as written: what the demo used before runs had their own ids."""
    records = [json.loads(line) for line in _sample_lines(city)]
    return {r["event_id"]: datetime.fromisoformat(r["occurred_at"]) for r in records}


def todays_samples(city: City, run_id: str, now: datetime) -> tuple[list[str], int]:
    """The sample check-ins moved to today's morning in the city, with this run's event ids; and the shift in days."""
    records = [json.loads(line) for line in _sample_lines(city)]
    first = min(datetime.fromisoformat(r["occurred_at"]) for r in records)
    windows = [w for f in city.zones.zones for w in f.properties.windows or ()]
    days = demo_shift(first.astimezone(city.tz).date(), now.astimezone(city.tz).date(), step=step_days(windows))
    lines = []
    for record in records:
        moved = shift_dates(record, days)
        moved["event_id"] = event_id(run_id, record["event_id"])
        lines.append(json.dumps(moved, ensure_ascii=False))
    return lines, days


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):  # it may have exited since poll()
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class _Show:
    """Reads the output topics and prints each message once (at-least-once: copies share an id)."""

    def __init__(
        self, consumer: Any, out: Console, worker: subprocess.Popen[bytes], log_path: Path, prefix: str
    ) -> None:
        from hazmat.streams import names

        self.consumer, self.out, self.worker, self.log_path = consumer, out, worker, log_path
        self.topics = {
            names.VERDICTS.name(prefix): "verdict",
            names.ALERTS.name(prefix): "alert",
            names.DLQ.name(prefix): "dead",
            names.ROUTES.name(prefix): "route",
        }
        self.verdicts: dict[str, dict[str, Any]] = {}
        self.alerts: dict[str, dict[str, Any]] = {}
        self.routes: dict[str, dict[str, Any]] = {}
        self.dead = 0
        self.redelivered = 0

    def until(self, done: Callable[[], bool], timeout: float = DEMO_TIMEOUT_S) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.worker.poll() is not None:
                msg = f"the worker exited with code {self.worker.returncode}; see {self.log_path}"
                raise RuntimeError(msg)
            for tp, records in self.consumer.poll(timeout_ms=500).items():
                for record in records:
                    self._show(self.topics[tp.topic], json.loads(record.value))
            if done():
                return True
        return False

    def _show(self, kind: str, value: dict[str, Any]) -> None:
        if kind == "dead":
            self.dead += 1
            self.out.print(
                f"[magenta]DEAD LETTER[/] {value['topic']}[{value['partition']}]@{value['offset']}: {value['error']}"
            )
            return
        store, key = {
            "verdict": (self.verdicts, "checkin_event_id"),
            "alert": (self.alerts, "alert_id"),
            "route": (self.routes, "request_id"),
        }[kind]
        if value[key] in store:
            self.redelivered += 1
            return
        store[value[key]] = value
        if kind == "verdict":
            colour, word = VERDICT_WORDS[value["verdict"]]
            rules = ", ".join(f["rule_id"] + ("" if f["severity"] == "refuse" else "(warn)") for f in value["findings"])
            self.out.print(f"[{colour}]{word}[/] {value['plate']}  {value['checkin_event_id']}  {rules}")
            for f in value["findings"]:
                self.out.print(
                    f"         {f['rule_id']} {f['message_zh']} / {f['message_en']}", markup=False, style="dim"
                )
        elif kind == "alert":
            colour = {"high": "bold red", "medium": "yellow", "low": "cyan"}[value["severity"]]
            state = "" if value["state"] == "raised" else " (cleared)"
            self.out.print(
                f"[{colour}]ALERT  {value['kind']}{state}[/] {value.get('plate') or '—'}  {value['message_zh']}",
                highlight=False,
            )
        else:
            avoided = ", ".join(a.get("zone_id") or a["kind"] for a in value.get("avoided", []))
            if value["status"] == "ok":
                self.out.print(
                    f"[cyan]ROUTE[/]  {value['plate']}  {value['length_m'] / 1000:.1f} km, {value['duration_s'] / 60:.0f} min; avoided: {avoided or '—'}"
                )
            else:
                self.out.print(f"[cyan]ROUTE[/]  {value['plate']}  {value['status']}: {value.get('reason_zh')}")


def run_demo(city: City, *, out: Console, err: Console, keep_broker: bool = False) -> int:
    """Run the demo; return the exit code (0 when every expected message arrived and every flow closed)."""
    try:
        with DemoHome(broker.default_home()) as home, signals_as_interrupt():
            return _Run(city, home, out=out, err=err, keep_broker=keep_broker).run()
    except DemoBusyError as exc:
        err.print(f"[red]{exc}[/]")
        return 1


class _Run:
    """One demo run: its id, what it started, and the clean-up that undoes it whatever happens."""

    def __init__(self, city: City, home: DemoHome, *, out: Console, err: Console, keep_broker: bool) -> None:
        from hazmat.streams import names

        self.city, self.home, self.out, self.err, self.keep_broker = city, home, out, err, keep_broker
        self.run_id = new_run_id()
        self.base = names.prefix_from_env()
        self.prefix = topic_prefix(self.base, self.run_id)
        self.state = RunState(run_id=self.run_id, pid=os.getpid())
        self.owns_broker = False
        self.bootstrap: str | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.consumer: Any = None

    def run(self) -> int:
        err = self.err
        try:
            return self._play()
        except KeyboardInterrupt:
            err.print("\ninterrupted; stopping")
            return 130
        except (broker.BrokerError, RuntimeError, ConnectionError) as exc:
            err.print(f"[red]{exc}[/]")
            return 1
        finally:
            with uninterrupted():
                self._clean_up()

    def _tidy_earlier_runs(self) -> None:
        """Undo what an earlier demo could not: its worker, its open flows (before our worker starts)."""
        prev = self.home.previous
        if prev is not None and stop_stale_worker(prev.worker_pid):
            self.err.print(f"stopped the worker an interrupted demo left running (pid {prev.worker_pid})")
        closed = close_open_flows(self.city.archive_path(), samples=_written_times(self.city))
        if closed:
            self.err.print(f"closed {len(closed)} high-hazard flow(s) an earlier demo left open")

    def _start_broker(self) -> broker.BrokerInfo:
        running = broker.status()
        self.owns_broker = running is None or self.home.adopts(running.pid)
        if running is None:
            self.state.broker = "starting"
            self.home.save(self.state)
        info = broker.start(progress=lambda line: self.err.print(line, markup=False))
        if self.owns_broker:
            self.state.broker = str(info.pid)
            self.home.save(self.state)
        self.bootstrap = info.bootstrap
        note = ""
        if running is not None:
            note = " (left by an interrupted demo)" if self.owns_broker else " (already running)"
        self.err.print(f"Kafka broker at {info.bootstrap}{note}")
        return info

    def _start_worker(self, bootstrap: str) -> tuple[subprocess.Popen[bytes], Path]:
        shutil.rmtree(self.home.worker_datadir, ignore_errors=True)
        log_path = broker.cache_root() / "demo-worker.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "HAZMAT_CITY": str(self.city.folder),
            "HAZMAT_TOPIC_PREFIX": self.prefix,
            "HAZMAT_STATE_DIR": str(self.home.worker_datadir),  # the worker's state, in the demo's home
            "HAZMAT_PARTITIONS": str(demo_partitions()),
        }
        with log_path.open("wb") as log_file:  # this run's log only
            worker = subprocess.Popen(
                [sys.executable, "-m", "hazmat", "worker"],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the demo only, which stops the worker itself
            )
        self.worker = worker
        self.state.worker_pid = worker.pid
        self.home.save(self.state)
        self.err.print(f"worker started (pid {worker.pid}, log {log_path})")
        return worker, log_path

    def _play(self) -> int:
        from kafka import KafkaConsumer, KafkaProducer

        from hazmat.streams import names
        from hazmat.streams.admin import ensure_topics

        city, err, prefix, run_id = self.city, self.err, self.prefix, self.run_id
        settings = city.rule_settings()
        lines, shift = todays_samples(city, run_id, datetime.now(city.tz))
        expected: dict[str, dict[str, Any]] = {}
        flows: dict[str, tuple[str, str]] = {}  # flow id -> (check-in id, plate)
        expected_alerts = 1  # the broken message's invalid_event alert
        for n, raw in enumerate(lines, start=1):
            outcome = judge(n, raw, settings)
            if outcome.verdict is not None and outcome.checkin is not None:
                expected[outcome.verdict.checkin_event_id] = json.loads(raw)
                expected_alerts += len(verdict_alerts(outcome.checkin, outcome.verdict))
                for flow in opened_by(outcome.checkin, outcome.verdict, settings.high_hazard_un_numbers):
                    flows[flow.flow_id] = (flow.checkin_event_id, flow.plate)
        morning = datetime.fromisoformat(json.loads(lines[0])["occurred_at"]).date()

        err.print(
            f"[bold]hazmat-checker demo[/] — a morning in {city.settings.name} ({city.settings.name_en}), {morning}"
        )
        err.print(f"run {run_id}: topics {prefix}*, event ids demo-{run_id}-… (samples moved by {shift} days)")
        self._tidy_earlier_runs()
        info = self._start_broker()
        stale = delete_demo_topics(info.bootstrap, self.base, keep=prefix)
        if stale:
            err.print(f"deleted {len(stale)} topics of earlier demo runs")
        ensure_topics(info.bootstrap, prefix=prefix, partitions=demo_partitions())
        worker, log_path = self._start_worker(info.bootstrap)

        self.consumer = consumer = KafkaConsumer(
            bootstrap_servers=info.bootstrap, group_id=None, enable_auto_commit=False, isolation_level="read_committed"
        )
        tps = _partitions(
            consumer, [spec.name(prefix) for spec in (names.VERDICTS, names.ALERTS, names.DLQ, names.ROUTES)]
        )
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)  # the run's own topics: everything in them is this run's
        show = _Show(consumer, self.out, worker, log_path, prefix)
        producer = KafkaProducer(bootstrap_servers=info.bootstrap, acks="all", linger_ms=5)
        try:
            return self._scenario(show, producer, lines, expected, expected_alerts, flows)
        finally:
            producer.close(timeout=5)

    def _scenario(
        self,
        show: _Show,
        producer: Any,
        lines: list[str],
        expected: dict[str, dict[str, Any]],
        expected_alerts: int,
        flows: dict[str, tuple[str, str]],
    ) -> int:
        from hazmat.streams import names

        city, err, prefix, run_id = self.city, self.err, self.prefix, self.run_id

        # 1. a loading site's morning
        for raw in lines:
            key = json.loads(raw)["vehicle"]["plate"].encode()
            producer.send(names.CHECKINS.name(prefix), key=key, value=raw.encode())
        producer.send(names.CHECKINS.name(prefix), key=b"XX", value=BROKEN_MESSAGE)
        producer.flush()
        err.print(
            f"\n[bold]1. check-ins[/]: posted {len(lines)} check-ins and 1 broken message; waiting for the worker…"
        )
        if not show.until(
            lambda: len(show.verdicts) >= len(expected) and len(show.alerts) >= expected_alerts and show.dead >= 1
        ):
            err.print(f"[red]timed out: {len(show.verdicts)}/{len(expected)} verdicts[/]")
            return 1
        loads = sum(1 for v in show.verdicts.values() if v["verdict"] == "load")
        err.print(
            f"{len(show.verdicts)} verdicts ({loads} load, {len(show.verdicts) - loads} refuse), {len(show.alerts)} alerts, {show.dead} dead letter(s)"
        )

        # 2. a dispatcher asks for a permitted route for a loaded vehicle
        loaded = next(
            c
            for eid, c in expected.items()
            if show.verdicts[eid]["verdict"] == "load" and c["vehicle"]["plate"][0] == city.settings.province
        )
        plate = loaded["vehicle"]["plate"]
        depart = datetime.fromisoformat(loaded["occurred_at"]) + timedelta(minutes=30)
        request_id = event_id(run_id, "route-1")
        request = RouteRequest.body(request_id, plate, loaded["load"], TRIP_FROM, TRIP_TO, depart.isoformat())
        producer.send(
            names.ROUTE_REQUESTS.name(prefix),
            key=plate.encode(),
            value=json.dumps(request, ensure_ascii=False).encode(),
        )
        producer.flush()
        err.print(
            f"\n[bold]2. route[/]: requested a permitted route for {plate} at {depart.isoformat()} (the first run builds the road graph: 30–60 s)…"
        )
        if not show.until(lambda: request_id in show.routes) or show.routes[request_id]["status"] != "ok":
            err.print("[red]no permitted route came back[/]")
            return 1
        route = show.routes[request_id]
        map_path = _write_map(city, route)
        err.print(f"map of the route: {map_path.resolve()}")

        # 3. the trip, with a detour into the restricted centre and a stop at the route's end (the
        # load arrives), a vehicle nobody checked, and the consignees confirming the other loads
        from hazmat.monitor.simulate import drive, with_detour

        trip = drive(
            with_detour(route["geometry"]["coordinates"], 0.5, [list(DETOUR)]),
            plate=plate,
            start=depart,
            speed_kmh=40,
            every_s=15,
            event_prefix=event_id(run_id, "trip"),
        )
        rogue_plate = f"{city.settings.province}A99999"
        rogue = drive(
            [list(TRIP_FROM), list(TRIP_TO)],
            plate=rogue_plate,
            start=depart,
            speed_kmh=40,
            every_s=15,
            event_prefix=event_id(run_id, "rogue"),
        )[:4]
        for ping in [*trip, *rogue]:
            producer.send(names.POSITIONS.name(prefix), key=ping.plate.encode(), value=ping.model_dump_json().encode())
        deliveries = _deliveries(run_id, expected, flows, plate, trip[-1].at)
        for delivery in deliveries:
            producer.send(
                names.DELIVERIES.name(prefix), key=delivery["plate"].encode(), value=json.dumps(delivery).encode()
            )
        producer.flush()
        err.print(
            f"\n[bold]3. trip[/]: {len(trip)} positions of {plate} (with a detour, ending at the route's end) and "
            f"{len(rogue)} of {rogue_plate} (no check-in); {len(deliveries)} deliveries of the other loads…"
        )

        def seen(p: str) -> set[tuple[str, str]]:
            return {(a["kind"], a["state"]) for a in show.alerts.values() if a.get("plate") == p}

        # the detour raises both alerts and clears both when the tanker is back on its route
        detour = {(k, s) for k in ("zone_entry", "route_deviation") for s in ("raised", "cleared")}
        if not show.until(lambda: detour <= seen(plate) and ("unchecked_movement", "raised") in seen(rogue_plate)):
            err.print("[red]timed out waiting for the trip's alerts[/]")
            return 1
        archive = city.archive_path()
        checkin_ids = {c for c, _ in flows.values()}
        closed: dict[str, str | None] = {}

        def all_closed() -> bool:
            closed.update(open_flows(archive, checkin_ids))
            return len(closed) == len(flows) and all(closed.values())

        if not show.until(all_closed):
            still = sorted(f for f in flows if not closed.get(f))
            err.print(
                f"[red]timed out waiting for the loads to arrive or be delivered: {', '.join(still)} still open[/]"
            )
            return 1
        for fid, how in sorted(closed.items()):
            out_plate = flows[fid][1]
            self.out.print(f"[green]FLOW   {how}[/] {out_plate}  {fid}", highlight=False)
        err.print(
            f"\ndone: {len(show.verdicts)} verdicts, 1 route, {len(show.alerts)} alerts, {show.dead} dead letter(s), "
            f"{len(closed)} high-hazard flows closed, {show.redelivered} redelivered copies ignored; archive: {archive}"
        )
        return 0

    def _clean_up(self) -> None:
        """Stop and delete what this run started (worker, open flows, topics, broker); runs on every exit.

        Each step is tried even when an earlier one failed; what is left is the next run's to tidy.
        """
        stopped: list[str] = []

        def worker() -> None:
            if self.consumer is not None:
                self.consumer.close()
            if self.worker is not None:
                _stop(self.worker)
                stopped.append("worker")
            shutil.rmtree(self.home.worker_datadir, ignore_errors=True)

        def flows() -> None:
            if closed := close_open_flows(self.city.archive_path(), run_id=self.run_id):
                self.err.print(f"closed {len(closed)} open flow(s) of this run as {CLOSED_HOW}")

        def topics() -> None:
            if self.bootstrap is None:
                return
            if self.keep_broker:
                self.err.print(f"the broker keeps this run's topics ({self.prefix}*) until the next demo")
            else:
                delete_demo_topics(self.bootstrap, self.base, only=self.prefix)

        def broker_() -> None:
            if self.owns_broker and not self.keep_broker:
                broker.stop()
                stopped.append("broker")

        failed = False
        for step in (worker, flows, topics, broker_):
            try:
                step()
            except Exception as exc:  # clean-up goes on; the next run tidies what this step left
                failed = True
                self.err.print(f"[yellow]clean-up ({step.__name__.rstrip('_')}) failed: {exc}[/]")
        if failed:
            self.home.save(self.state)  # the worker's pid and the broker it started, for the next run
        else:
            self.home.forget()
        if stopped:
            self.err.print(f"{' and '.join(stopped)} stopped")


def demo_partitions() -> int:
    """The demo's topics' partitions: ``HAZMAT_PARTITIONS`` when set, else 3 (a morning of twelve vehicles
    needs no province's 12, and each partition is one more state store for the worker to open)."""
    return int(os.environ.get("HAZMAT_PARTITIONS") or DEMO_PARTITIONS)


def _partitions(consumer: Any, topics: list[str], timeout: float = 30.0) -> list[Any]:
    """Every partition of the run's new topics, once the consumer's metadata shows them all (it lags their creation)."""
    from kafka import TopicPartition

    wanted = demo_partitions()
    deadline = time.monotonic() + timeout
    while True:
        found = {t: sorted(consumer.partitions_for_topic(t) or ()) for t in topics}
        if all(len(p) >= wanted for p in found.values()):
            return [TopicPartition(t, p) for t, ps in found.items() for p in ps]
        if time.monotonic() > deadline:
            short = [t for t, p in found.items() if len(p) < wanted]
            msg = f"the broker shows not all partitions of {short} after {timeout:.0f} s"
            raise RuntimeError(msg)
        consumer.topics()  # asks the broker for fresh metadata (a partly known topic is not refreshed otherwise)
        time.sleep(0.2)  # polling the metadata until it is complete, with a deadline


def _deliveries(
    run_id: str, checkins: dict[str, dict[str, Any]], flows: dict[str, tuple[str, str]], driven: str, at: datetime
) -> list[dict[str, Any]]:
    """Delivery events for the loads that are not driven in the demo, so their flows close too (no flow_overdue later)."""
    out = []
    for checkin_id in sorted({c for c, p in flows.values() if p != driven}):
        checkin = checkins[checkin_id]
        out.append(
            {
                "schema_version": 1,
                "event_id": event_id(run_id, f"delivery-{checkin['event_id'].removeprefix(f'demo-{run_id}-')}"),
                "plate": checkin["vehicle"]["plate"],
                "at": at.isoformat(),
                "site_id": checkin["site_id"].replace("-LS-", "-RCV-"),
                "checkin_event_id": checkin_id,
            }
        )
    return out


def _write_map(city: City, route: dict[str, Any]) -> Path:
    from hazmat.routing import graph as road_graph
    from hazmat.routing.mapview import html_map
    from hazmat.routing.router import Router

    router = Router(road_graph.load(city), city)
    MAP_FILE.parent.mkdir(parents=True, exist_ok=True)
    MAP_FILE.write_text(
        html_map(
            Route.model_validate_json(json.dumps(route)),
            router,
            title=f"{city.settings.name} demo route",
            origin=TRIP_FROM,
            destination=TRIP_TO,
        ),
        encoding="utf-8",
    )
    return MAP_FILE
