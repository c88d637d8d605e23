"""``hazmat demo``: the main job end to end on the embedded default (shared/spec/cli.md).

Starts the local Kafka broker and a worker, then plays a morning in Harbin through Kafka:
a loading site's check-ins (plus one broken message, to show the dead-letter path), a
dispatcher's route request for a loaded vehicle, and that vehicle's trip with a detour into
the restricted centre, plus a vehicle driving without any check-in. Verdicts, routes,
alerts and dead letters are printed live as they come back; the route is written as a map.
Stops what it started, also on Ctrl-C.
"""

from __future__ import annotations

import json
import os
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
from hazmat.checking import judge
from hazmat.cityconfig import CITIES_DIR, City

DEMO_TIMEOUT_S = 240.0
BROKEN_MESSAGE = b'{"schema_version": 1, "event_id": "demo-broken", "vehicle": {"plate": "XX"}'
#: the dispatcher's request: across the centre, whose daytime restriction the route must avoid
TRIP_FROM, TRIP_TO = (126.58, 45.74), (126.69, 45.76)
DETOUR = (126.632, 45.753)  # a point inside the restricted centre (rs-daoli-nangang)
MAP_FILE = Path("out") / "demo-route.html"


def _samples(city: City) -> list[str]:
    path = city.folder / "samples" / "morning-checkins.jsonl"
    if not path.is_file():
        path = CITIES_DIR / "harbin" / "samples" / path.name
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class _Show:
    """Reads the output topics and prints each message once (at-least-once: copies share an id)."""

    def __init__(self, consumer: Any, out: Console, worker: subprocess.Popen[bytes], log_path: Path) -> None:
        from hazmat.streams import names

        self.consumer, self.out, self.worker, self.log_path = consumer, out, worker, log_path
        self.topics = {
            names.VERDICTS.name(): "verdict",
            names.ALERTS.name(): "alert",
            names.DLQ.name(): "dead",
            names.ROUTES.name(): "route",
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
            colour, word = (
                ("green", "LOAD   准予装货") if value["verdict"] == "load" else ("bold red", "REFUSE 不予装货")
            )
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
    """Run the demo; return the exit code (0 when every expected message arrived)."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from hazmat.streams import names
    from hazmat.streams.admin import ensure_topics

    lines = _samples(city)
    settings = city.rule_settings()
    expected: dict[str, dict[str, Any]] = {}
    expected_alerts = 1  # the broken message's invalid_event alert
    for n, raw in enumerate(lines, start=1):
        outcome = judge(n, raw, settings)
        if outcome.verdict is not None and outcome.checkin is not None:
            expected[outcome.verdict.checkin_event_id] = json.loads(raw)
            expected_alerts += len(verdict_alerts(outcome.checkin, outcome.verdict))

    was_running = broker.status() is not None
    worker: subprocess.Popen[bytes] | None = None
    consumer: KafkaConsumer | None = None
    started_broker = False
    try:
        err.print(f"[bold]hazmat-checker demo[/] — a morning in {city.city.name} ({city.city.name_en})")
        info = broker.start(progress=lambda line: err.print(line, markup=False))
        started_broker = not was_running
        err.print(f"Kafka broker at {info.bootstrap}{' (already running)' if was_running else ''}")
        ensure_topics(info.bootstrap)
        log_path = broker.cache_root() / "demo-worker.log"
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": info.bootstrap, "HAZMAT_CITY": str(city.folder)}
        with log_path.open("ab") as log_file:
            worker = subprocess.Popen(
                [sys.executable, "-m", "hazmat", "worker"],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        err.print(f"worker started (pid {worker.pid}, log {log_path})")

        consumer = KafkaConsumer(bootstrap_servers=info.bootstrap, group_id=None, enable_auto_commit=False)
        tps = [
            TopicPartition(spec.name(), p)
            for spec in (names.VERDICTS, names.ALERTS, names.DLQ, names.ROUTES)
            for p in sorted(consumer.partitions_for_topic(spec.name()) or ())
        ]
        consumer.assign(tps)
        consumer.seek_to_end(*tps)
        for tp in tps:
            consumer.position(tp)  # resolve "end" now, before anything is produced
        show = _Show(consumer, out, worker, log_path)
        producer = KafkaProducer(bootstrap_servers=info.bootstrap, acks="all", linger_ms=5)

        # 1. a loading site's morning
        for raw in lines:
            producer.send(names.CHECKINS.name(), key=json.loads(raw)["vehicle"]["plate"].encode(), value=raw.encode())
        producer.send(names.CHECKINS.name(), key=b"XX", value=BROKEN_MESSAGE)
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
            if show.verdicts[eid]["verdict"] == "load" and c["vehicle"]["plate"][0] == city.city.province
        )
        plate = loaded["vehicle"]["plate"]
        depart = datetime.fromisoformat(loaded["occurred_at"]) + timedelta(minutes=30)
        request = {
            "schema_version": 1, "request_id": "demo-route-1", "plate": plate,
            "load": [{k: item[k] for k in ("un_number", "hazard_class", "quantity_kg")} for item in loaded["load"]],
            "origin": {"lon": TRIP_FROM[0], "lat": TRIP_FROM[1]}, "destination": {"lon": TRIP_TO[0], "lat": TRIP_TO[1]},
            "depart_at": depart.isoformat(),
        }  # fmt: skip
        producer.send(
            names.ROUTE_REQUESTS.name(), key=plate.encode(), value=json.dumps(request, ensure_ascii=False).encode()
        )
        producer.flush()
        err.print(
            f"\n[bold]2. route[/]: requested a permitted route for {plate} at {depart.isoformat()} (the first run builds the road graph: about a minute)…"
        )
        if not show.until(lambda: "demo-route-1" in show.routes) or show.routes["demo-route-1"]["status"] != "ok":
            err.print("[red]no permitted route came back[/]")
            return 1
        route = show.routes["demo-route-1"]
        map_path = _write_map(city, route)
        err.print(f"map of the route: {map_path.resolve()}")

        # 3. the trip, with a detour into the restricted centre, and a vehicle nobody checked
        from hazmat.monitor.simulate import drive, with_detour

        trip = drive(
            with_detour(route["geometry"]["coordinates"], 0.5, [list(DETOUR)]),
            plate=plate,
            start=depart,
            speed_kmh=40,
            every_s=15,
            event_prefix="demo-trip",
        )
        rogue_plate = f"{city.city.province}A99999"
        rogue = drive(
            [list(TRIP_FROM), list(TRIP_TO)],
            plate=rogue_plate,
            start=depart,
            speed_kmh=40,
            every_s=15,
            event_prefix="demo-rogue",
        )[:4]
        for ping in [*trip, *rogue]:
            producer.send(names.POSITIONS.name(), key=ping.plate.encode(), value=ping.model_dump_json().encode())
        producer.flush()
        producer.close()
        err.print(
            f"\n[bold]3. trip[/]: {len(trip)} positions of {plate} (with a detour) and {len(rogue)} of {rogue_plate} (no check-in)…"
        )

        def kinds(p: str) -> set[str]:
            return {a["kind"] for a in show.alerts.values() if a.get("plate") == p and a["state"] == "raised"}

        if not show.until(
            lambda: {"zone_entry", "route_deviation"} <= kinds(plate) and "unchecked_movement" in kinds(rogue_plate)
        ):
            err.print("[red]timed out waiting for the trip's alerts[/]")
            return 1
        err.print(
            f"\ndone: {len(show.verdicts)} verdicts, 1 route, {len(show.alerts)} alerts, {show.dead} dead letter(s), "
            f"{show.redelivered} redelivered copies ignored; archive: {city.archive_path()}"
        )
        return 0
    except KeyboardInterrupt:
        err.print("\ninterrupted; stopping")
        return 130
    except (broker.BrokerError, RuntimeError) as exc:
        err.print(f"[red]{exc}[/]")
        return 1
    finally:
        if consumer is not None:
            consumer.close()
        _stop(worker)
        if started_broker and not keep_broker:
            broker.stop()
            err.print("worker and broker stopped")


def _write_map(city: City, route: dict[str, Any]) -> Path:
    from hazmat.events import Route
    from hazmat.routing import graph as road_graph
    from hazmat.routing.mapview import html_map
    from hazmat.routing.router import Router

    router = Router(road_graph.load(city), city)
    MAP_FILE.parent.mkdir(parents=True, exist_ok=True)
    MAP_FILE.write_text(
        html_map(Route.model_validate_json(json.dumps(route)), router, title=f"{city.city.name} demo route"),
        encoding="utf-8",
    )
    return MAP_FILE
