"""Record what today's worker sends for the demo trip and a seeded fleet (issue #15, part 4).

The stream engine is about to change; the new worker must send the very same alerts (kinds,
ids, states, order per vehicle). This script plays two scenarios through a real broker and a
real worker and writes what comes back, so the migration has a fixed recording to meet:

- ``demo``: ``hazmat demo``'s morning in Harbin: the eleven sample check-ins and one broken
  message, the route request for the loaded local tanker, its trip with a detour into the
  restricted centre, and four pings of a vehicle that never checked in;
- ``fleet``: 200 vehicles on Harbin, drawn from a fixed seed: most check in (some refused,
  some from another province), most of those ask for a route, every one drives (along its
  route when it got one, with some detours off it or into the centre, some too fast), and
  some never checked in at all.

Inputs are played in three phases, each waited for through the worker's committed offsets
(a condition, not a pause), because the alerts depend on what the worker already holds:
check-ins (its per-plate load state), then route requests (the issued routes it keeps), then
the trips, driven along the routes it issued. Every input has a fixed event id and timestamp, so what comes back is a function of the inputs alone,
except what the worker stamps with its own clock: the dead letter's ``received_at`` and the
``invalid_event`` alert's ``at``, written as ``"<wall-clock>"``. The ``flow_overdue`` timer
compares the archive with the wall clock, so the worker runs on a copy of Harbin whose
``flow_overdue_h`` is ten years: no flow is overdue and the recording does not depend on
when it is made (the timer has its own tests).

Output, under ``tests/data/golden/<scenario>/``, JSON Lines sorted by plate and, within a
plate, in arrival order (its partition's offsets): ``alerts.jsonl`` (every alert, whole),
``verdicts.jsonl``, ``routes.jsonl`` (a summary: status, length, duration, avoided zones and
the geometry's SHA-256), ``dead-letters.jsonl``, and ``meta.json`` (seed, counts, SHA-256 of
the inputs, so a changed sample file or router is told apart from a changed engine). A
message delivered twice (at-least-once) is kept once, by its id.

    python benchmarks/record_alerts.py                  # record into tests/data/golden/
    python benchmarks/record_alerts.py --check          # run again, compare with the recording
    python benchmarks/record_alerts.py --check --worker-cmd "python my_worker.py" --group my-group

``--worker-cmd`` and ``--group`` let another worker be compared the same way (its consumer
groups are what the phases wait on); ``--follow-routes`` waits for a worker that learns the
routes by reading the routes topic back (the faust worker that made the recording did; today's
keeps a route in the plate's state when it plans it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from hazmat import broker  # noqa: E402
from hazmat.cityconfig import CITIES_DIR  # noqa: E402
from hazmat.events import Position  # noqa: E402
from hazmat.monitor.simulate import drive, with_detour  # noqa: E402
from hazmat.streams import names  # noqa: E402
from hazmat.streams.admin import ensure_topics  # noqa: E402
from tests.kafka_helpers import TEST_PARTITIONS, Worker  # noqa: E402

GOLDEN = REPO / "tests" / "data" / "golden"
SCENARIOS = ("demo", "fleet")
SEED = 20261126
FLEET = 200
WALL_CLOCK = "<wall-clock>"
PHASE_TIMEOUT_S = 180.0

# From hazmat/demo.py (copied, not imported: the recording must not move when the demo does)
BROKEN_MESSAGE = b'{"schema_version": 1, "event_id": "demo-broken", "vehicle": {"plate": "XX"}'
TRIP_FROM, TRIP_TO = (126.58, 45.74), (126.69, 45.76)
DETOUR = (126.632, 45.753)  # inside the restricted centre (rs-daoli-nangang)
SAMPLES = CITIES_DIR / "harbin" / "samples" / "morning-checkins.jsonl"

#: where the fleet starts and ends its trips: inside Harbin's bundled extract, clear of its edge
FLEET_BOX = (126.55, 45.69, 126.73, 45.80)

Message = tuple[bytes, bytes]  # key, value


# --- the inputs -------------------------------------------------------------------------------


def samples() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]


def demo_checkins() -> list[Message]:
    """The demo's eleven check-ins, then its broken message (key ``XX``)."""
    out = [(c["vehicle"]["plate"].encode(), json.dumps(c, ensure_ascii=False).encode()) for c in samples()]
    return [*out, (b"XX", BROKEN_MESSAGE)]


def demo_route_request(verdicts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """As the demo asks: for the first local plate whose sample check-in passed, 30 min after it."""
    loaded = next(
        c for c in samples() if verdicts[c["event_id"]]["verdict"] == "load" and c["vehicle"]["plate"][0] == "黑"
    )
    depart = datetime.fromisoformat(loaded["occurred_at"]) + timedelta(minutes=30)
    return {
        "schema_version": 1, "request_id": "demo-route-1", "plate": loaded["vehicle"]["plate"],
        "load": [{k: item[k] for k in ("un_number", "hazard_class", "quantity_kg")} for item in loaded["load"]],
        "origin": {"lon": TRIP_FROM[0], "lat": TRIP_FROM[1]}, "destination": {"lon": TRIP_TO[0], "lat": TRIP_TO[1]},
        "depart_at": depart.isoformat(),
    }  # fmt: skip


def demo_trips(request: dict[str, Any], route: dict[str, Any]) -> list[Position]:
    """The tanker along its route with a detour into the centre, and four pings of a rogue vehicle."""
    depart = datetime.fromisoformat(request["depart_at"])
    trip = drive(
        with_detour(route["geometry"]["coordinates"], 0.5, [list(DETOUR)]),
        plate=request["plate"], start=depart, speed_kmh=40, every_s=15, event_prefix="demo-trip",
    )  # fmt: skip
    rogue = drive(
        [list(TRIP_FROM), list(TRIP_TO)], plate="黑A99999", start=depart, speed_kmh=40, every_s=15,
        event_prefix="demo-rogue",
    )[:4]  # fmt: skip
    return [*trip, *rogue]


@dataclass(frozen=True)
class Vehicle:
    """One fleet vehicle's part, every random choice drawn up front (so routes cannot shift the draws)."""

    n: int
    plate: str
    template: int | None  # the sample check-in it is made from; None: it never checks in
    occurred_at: datetime
    asks_route: bool
    origin: tuple[float, float]
    destination: tuple[float, float]
    detour: str | None  # None, "centre" (into the restricted centre) or "aside" (off the corridor)
    detour_at: float
    aside: tuple[float, float]  # the "aside" waypoint's offset from the route, in degrees
    speed_kmh: float

    @property
    def depart(self) -> datetime:
        return self.occurred_at + timedelta(minutes=20)


def fleet_plan(seed: int = SEED, n: int = FLEET) -> list[Vehicle]:
    """``n`` vehicles: ~88 % check in (templates weighted to pass), ~90 % of those ask for a route,
    ~20 % of routed trips detour, ~20 % of all drive too fast; one in ten is from another province."""
    rng = random.Random(seed)
    base = samples()
    start = datetime.fromisoformat("2026-11-26T06:00:00+08:00")
    out = []
    w, s, e, nth = FLEET_BOX
    for k in range(n):
        province = "吉" if rng.random() < 0.1 else "黑"
        template = rng.choice([0, 0, 6, 8, 2, 0, 6, 8, *range(len(base))]) if rng.random() < 0.88 else None
        origin = (round(rng.uniform(w, e), 5), round(rng.uniform(s, nth), 5))
        destination = (round(rng.uniform(w, e), 5), round(rng.uniform(s, nth), 5))
        roll = rng.random()
        out.append(
            Vehicle(
                n=k,
                plate=f"{province}AF{k:04d}",
                template=template,
                occurred_at=start + timedelta(minutes=3 * k),
                asks_route=template is not None and rng.random() < 0.9,
                origin=origin,
                destination=destination,
                detour="centre" if roll < 0.1 else "aside" if roll < 0.2 else None,
                detour_at=rng.uniform(0.3, 0.7),
                aside=(rng.choice([-1, 1]) * rng.uniform(0.01, 0.02), rng.choice([-1, 1]) * rng.uniform(0.008, 0.015)),
                speed_kmh=rng.choice([40.0] * 8 + [75.0, 95.0]),
            )
        )
    return out


def fleet_checkin(v: Vehicle) -> dict[str, Any]:
    c = json.loads(json.dumps(samples()[v.template]))  # a deep copy
    c["event_id"] = f"fleet-ci-{v.n:03d}"
    c["occurred_at"] = v.occurred_at.isoformat()
    c["vehicle"]["plate"] = v.plate
    if (c.get("documents") or {}).get("waybill"):
        c["documents"]["waybill"]["plate"] = v.plate
    return c


def fleet_route_request(v: Vehicle, checkin: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": 1, "request_id": f"fleet-rq-{v.n:03d}", "plate": v.plate,
        "load": [{k: item[k] for k in ("un_number", "hazard_class", "quantity_kg")} for item in checkin["load"]],
        "origin": {"lon": v.origin[0], "lat": v.origin[1]},
        "destination": {"lon": v.destination[0], "lat": v.destination[1]},
        "depart_at": v.depart.isoformat(),
    }  # fmt: skip


def fleet_trip(v: Vehicle, route: dict[str, Any] | None) -> list[Position]:
    """Along the issued route when there is one (with the vehicle's detour), else straight across."""
    if route is None or route.get("status") != "ok":
        line = [list(v.origin), list(v.destination)]
    else:
        line = [list(c) for c in route["geometry"]["coordinates"]]
        if v.detour == "centre":
            line = with_detour(line, v.detour_at, [list(DETOUR)])
        elif v.detour == "aside":
            lon, lat = line[max(1, int(len(line) * v.detour_at)) - 1]
            line = with_detour(line, v.detour_at, [[lon + v.aside[0], lat + v.aside[1]]])
    return drive(
        line, plate=v.plate, start=v.depart, speed_kmh=v.speed_kmh, every_s=30, event_prefix=f"fleet-{v.n:03d}"
    )


# --- Kafka --------------------------------------------------------------------------------------


def produce(bootstrap: str, topic: str, messages: Iterable[Message]) -> int:
    """Send in order (one in flight, so a retry cannot reorder a plate's messages) and wait for all."""
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_in_flight_requests_per_connection=1)
    n = 0
    for key, value in messages:
        p.send(topic, key=key, value=value)
        n += 1
    p.flush()
    p.close()
    return n


def end_offsets(bootstrap: str, topics: Sequence[str]) -> dict[TopicPartition, int]:
    c = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, isolation_level="read_committed"
    )
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(c.partitions_for_topic(t) or ())]
        return dict(c.end_offsets(tps))
    finally:
        c.close()


def wait_caught_up(
    bootstrap: str, groups: Sequence[str], topics: Sequence[str], alive: Callable[[], bool], what: str
) -> None:
    """Until the worker's groups have committed every message of ``topics`` (so all its outputs are sent).

    The target is the offset after each partition's last record, not the end offset: after a
    transaction (an exactly-once worker's routes) the end is one past the commit marker.
    """
    ends = {
        TopicPartition(t, r.partition): r.offset + 1
        for t, records in read_all(bootstrap, topics).items()
        for r in records
    }
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    deadline = time.monotonic() + PHASE_TIMEOUT_S
    try:
        while True:
            committed: dict[TopicPartition, int] = {}
            for group in groups:
                try:
                    offsets = admin.list_group_offsets({group: None}).get(group, {})
                except KafkaError:  # the group's coordinator is not there until its first member joins
                    offsets = {}
                for tp, meta in offsets.items():
                    committed[tp] = max(committed.get(tp, -1), meta.offset)
            behind = {tp: end - committed.get(tp, 0) for tp, end in ends.items() if committed.get(tp, 0) < end}
            if not behind:
                return
            if not alive():
                msg = f"the worker died during {what}"
                raise RuntimeError(msg)
            if time.monotonic() > deadline:
                msg = f"{what}: not caught up within {PHASE_TIMEOUT_S:.0f} s: {behind}"
                raise TimeoutError(msg)
            time.sleep(0.2)  # polling interval of a condition wait
    finally:
        admin.close()


@dataclass
class Record:
    partition: int
    offset: int
    key: bytes | None
    raw: bytes

    @property
    def value(self) -> dict[str, Any]:
        return json.loads(self.raw)


def read_all(bootstrap: str, topics: Sequence[str]) -> dict[str, list[Record]]:
    """Every committed message of ``topics`` from the beginning up to their end offsets now.

    ``read_committed``, as consumers of an exactly-once worker read: an aborted transaction's
    messages are not outputs (a transactional message's offsets may skip commit markers)."""
    ends = end_offsets(bootstrap, topics)
    c = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, isolation_level="read_committed"
    )
    out: dict[str, list[Record]] = {t: [] for t in topics}
    try:
        c.assign(list(ends))
        c.seek_to_beginning(*ends)
        todo = {tp for tp, end in ends.items() if end > 0}
        deadline = time.monotonic() + 60
        while todo and time.monotonic() < deadline:
            for tp, records in c.poll(timeout_ms=200).items():
                for r in records:
                    if r.offset < ends[tp]:
                        out[tp.topic].append(Record(tp.partition, r.offset, r.key, r.value))
            todo = {tp for tp in todo if c.position(tp) < ends[tp]}  # (a commit marker moves it without a record)
        if todo:
            msg = f"could not read {sorted(str(tp) for tp in todo)} to their end"
            raise TimeoutError(msg)
    finally:
        c.close()
    return out


# --- a run ------------------------------------------------------------------------------------


def city_copy(folder: Path) -> Path:
    """Harbin with ``flow_overdue_h`` at ten years (the timer reads the wall clock); the rest linked.

    The folder keeps the name ``harbin``, so the worker finds the road graph in the user's cache.
    """
    target = folder / "harbin"
    target.mkdir(parents=True)
    source = CITIES_DIR / "harbin"
    for item in source.iterdir():
        if item.name != "city.yaml":
            (target / item.name).symlink_to(item)
    text = (source / "city.yaml").read_text(encoding="utf-8")
    (target / "city.yaml").write_text(f"{text.rstrip()}\nflow_overdue_h: 87600\n", encoding="utf-8")
    return target


class CommandWorker(Worker):
    """A worker started from any command line (the migrated engine's, for the comparison)."""

    def __init__(self, command: Sequence[str], cwd: Path, **kw: Any) -> None:
        super().__init__(**kw)
        self.command, self.cwd = list(command), cwd

    def start(self) -> CommandWorker:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command, env=self.env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.cwd, start_new_session=True,
            )  # fmt: skip
        return self


@dataclass
class Played:
    """What the phases sent, per scenario, and what the worker's topics held afterwards."""

    plates: dict[str, set[str]] = field(default_factory=lambda: {s: set() for s in SCENARIOS})
    inputs: dict[str, Any] = field(default_factory=dict)  # SHA-256 objects per scenario
    counts: dict[str, dict[str, int]] = field(default_factory=lambda: {s: {} for s in SCENARIOS})
    outputs: dict[str, list[Record]] = field(default_factory=dict)

    def note(self, scenario: str, phase: str, messages: list[Message]) -> list[Message]:
        h = self.inputs.setdefault(scenario, hashlib.sha256())
        for key, value in messages:
            h.update(key + b"\0" + value + b"\n")
            self.plates[scenario].add(key.decode())
        self.counts[scenario][phase] = self.counts[scenario].get(phase, 0) + len(messages)
        return messages


def play(
    bootstrap: str,
    prefix: str,
    worker: Worker,
    groups: Sequence[str],
    *,
    follows_routes: bool = False,
    seed: int = SEED,
    n: int = FLEET,
    mid_trip: Callable[[], None] | None = None,
) -> Played:
    """Run both scenarios' three phases through ``worker``; return what came back.

    ``follows_routes``: the worker learns a plate's route by reading the routes topic (the faust
    worker did), so that topic must be caught up too before the trips; today's keeps the route
    in the plate's state when it plans it and does not read it.

    ``mid_trip``: the trips are played in two halves (each plate's first pings, waited for, then
    the rest), and this is called as soon as the second half is produced (a fault to inject
    while the worker is mid-trip for every vehicle); the inputs and what comes back are the same.
    """
    played = Played()
    topic = {spec.base: spec.name(prefix) for spec in names.ALL}

    def phase(
        what: str, topic_base: str, batches: list[tuple[str, list[Message]]], *, note: bool = True, then: Any = None
    ) -> None:
        for scenario, messages in batches:
            produce(bootstrap, topic[topic_base], played.note(scenario, what, messages) if note else messages)
        if then is not None:
            then()
        wait_caught_up(bootstrap, groups, [topic[topic_base]], worker.alive, what)

    def outputs(base: str) -> list[Record]:
        return read_all(bootstrap, [topic[base]])[topic[base]]

    # 1. check-ins: the worker records each passed load in its table before it sends the verdict
    plan = fleet_plan(seed, n)
    fleet_checkins = {v.n: fleet_checkin(v) for v in plan if v.template is not None}
    phase(
        "checkins",
        names.CHECKINS.base,
        [
            ("demo", demo_checkins()),
            ("fleet", [(c["vehicle"]["plate"].encode(), _dump(c)) for c in fleet_checkins.values()]),
        ],
    )
    verdicts = {r.value["checkin_event_id"]: r.value for r in outputs(names.VERDICTS.base)}

    # 2. route requests; the routes topic is caught up too (the worker follows the routes it issued)
    demo_request = demo_route_request(verdicts)
    fleet_requests = {v.n: fleet_route_request(v, fleet_checkins[v.n]) for v in plan if v.asks_route}
    phase(
        "route requests",
        names.ROUTE_REQUESTS.base,
        [
            ("demo", [(demo_request["plate"].encode(), _dump(demo_request))]),
            ("fleet", [(r["plate"].encode(), _dump(r)) for r in fleet_requests.values()]),
        ],
    )
    if follows_routes:
        wait_caught_up(bootstrap, groups, [topic[names.ROUTES.base]], worker.alive, "routes followed")
    routes = {r.value["request_id"]: r.value for r in outputs(names.ROUTES.base)}

    # 3. the trips, along the routes the worker issued
    demo_pings = demo_trips(demo_request, routes[demo_request["request_id"]])
    fleet_pings = [
        p for v in plan for p in fleet_trip(v, routes.get(fleet_requests[v.n]["request_id"]) if v.asks_route else None)
    ]
    trips = [
        ("demo", [(p.plate.encode(), _dump(p)) for p in demo_pings]),
        ("fleet", [(p.plate.encode(), _dump(p)) for p in fleet_pings]),
    ]
    if mid_trip is None:
        phase("positions", names.POSITIONS.base, trips)
    else:
        for scenario, messages in trips:
            played.note(scenario, "positions", messages)
        halves = [(scenario, halved(messages)) for scenario, messages in trips]
        phase("first half of the trips", names.POSITIONS.base, [(s, h[0]) for s, h in halves], note=False)
        phase("positions", names.POSITIONS.base, [(s, h[1]) for s, h in halves], note=False, then=mid_trip)
    wanted = [topic[b] for b in (names.VERDICTS.base, names.ROUTES.base, names.ALERTS.base, names.DLQ.base)]
    got = read_all(bootstrap, wanted)
    played.outputs = {
        spec.base: got[spec.name(prefix)] for spec in (names.VERDICTS, names.ROUTES, names.ALERTS, names.DLQ)
    }
    return played


def halved(messages: list[Message]) -> tuple[list[Message], list[Message]]:
    """Each plate's first half of its messages, then the rest (the order within a plate kept)."""
    per_plate: dict[bytes, int] = {}
    for key, _ in messages:
        per_plate[key] = per_plate.get(key, 0) + 1
    seen: dict[bytes, int] = {}
    first, second = [], []
    for key, value in messages:
        seen[key] = seen.get(key, 0) + 1
        (first if seen[key] <= per_plate[key] // 2 else second).append((key, value))
    return first, second


def _dump(event: Any) -> bytes:
    if isinstance(event, Position):
        return event.model_dump_json().encode()
    return json.dumps(event, ensure_ascii=False).encode()


# --- the recording ----------------------------------------------------------------------------


def _unprefixed(value: Any, prefix: str) -> Any:
    """Topic names without the run's prefix (a dead letter and its alert name the topic)."""
    if not prefix:
        return value
    if isinstance(value, str):
        return value.replace(f"{prefix}hazmat.", "hazmat.")
    if isinstance(value, list):
        return [_unprefixed(v, prefix) for v in value]
    if isinstance(value, dict):
        return {k: _unprefixed(v, prefix) for k, v in value.items()}
    return value


def route_summary(route: dict[str, Any]) -> dict[str, Any]:
    coords = (route.get("geometry") or {}).get("coordinates") or []
    return {
        **{
            k: route.get(k)
            for k in ("route_id", "request_id", "plate", "status", "length_m", "duration_s", "arrive_at")
        },
        "avoided": [a.get("zone_id") or a["kind"] for a in route.get("avoided", [])],
        "blocked_by": [a.get("zone_id") or a["kind"] for a in route.get("blocked_by", [])],
        "points": len(coords),
        "geometry_sha256": hashlib.sha256(json.dumps(coords).encode()).hexdigest() if coords else None,
    }


def recording(played: Played, prefix: str) -> dict[str, dict[str, Any]]:
    """Per scenario: ``{file name: lines}`` and the meta data, normalised and sorted per plate."""
    kinds = {
        "verdicts": (names.VERDICTS.base, "checkin_event_id", lambda v: v),
        "routes": (names.ROUTES.base, "request_id", route_summary),
        "alerts": (names.ALERTS.base, "alert_id", lambda v: v),
        "dead-letters": (names.DLQ.base, None, lambda v: v),
    }
    out: dict[str, dict[str, Any]] = {s: {"files": {}} for s in SCENARIOS}
    duplicates: dict[str, int] = {}
    for name, (base, id_field, shape) in kinds.items():
        seen: set[str] = set()
        per_scenario: dict[str, list[tuple[str, int, int, dict[str, Any]]]] = {s: [] for s in SCENARIOS}
        for r in played.outputs[base]:
            value = _unprefixed(r.value, prefix)
            ident = value[id_field] if id_field else f"{value['topic']}/{value['partition']}/{value['offset']}"
            if ident in seen:
                duplicates[name] = duplicates.get(name, 0) + 1
                continue
            seen.add(ident)
            plate = (r.key or b"").decode("utf-8", errors="replace")
            if base == names.DLQ.base:
                value = {**value, "received_at": WALL_CLOCK}
            if value.get("kind") == "invalid_event":
                value = {**value, "at": WALL_CLOCK}
            scenario = next((s for s in SCENARIOS if plate in played.plates[s]), None)
            if scenario is None:
                msg = f"{name}: a message keyed {plate!r} belongs to no scenario"
                raise ValueError(msg)
            per_scenario[scenario].append((plate, r.partition, r.offset, shape(value)))
        for s in SCENARIOS:
            lines = sorted(per_scenario[s], key=lambda t: (t[0], t[1], t[2]))
            out[s]["files"][f"{name}.jsonl"] = [line for *_, line in lines]
    for s in SCENARIOS:
        files = out[s]["files"]
        out[s]["meta"] = {
            "scenario": s,
            "seed": SEED if s == "fleet" else None,
            "vehicles": len(played.plates[s]),
            "inputs": played.counts[s],
            "inputs_sha256": played.inputs[s].hexdigest(),
            "outputs": {f: len(lines) for f, lines in sorted(files.items())},
            "alert_kinds": _count(f"{a['kind']}/{a['state']}" for a in files["alerts.jsonl"]),
        }
    out["_duplicates"] = duplicates  # type: ignore[assignment]
    return out


def _count(items: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return dict(sorted(counts.items()))


def as_text(lines: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n" for line in lines)


def write(rec: dict[str, dict[str, Any]], root: Path) -> None:
    for s in SCENARIOS:
        folder = root / s
        folder.mkdir(parents=True, exist_ok=True)
        for name, lines in rec[s]["files"].items():
            (folder / name).write_text(as_text(lines), encoding="utf-8")
        (folder / "meta.json").write_text(
            json.dumps(rec[s]["meta"], ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )


def differences(rec: dict[str, dict[str, Any]], root: Path = GOLDEN) -> list[str]:
    """What differs between a run and the committed recording (first differing line per file)."""
    problems = []
    for s in SCENARIOS:
        expected_meta = json.loads((root / s / "meta.json").read_text(encoding="utf-8"))
        if expected_meta["inputs_sha256"] != rec[s]["meta"]["inputs_sha256"]:
            problems.append(
                f"{s}: the inputs differ from the recorded ones (sample check-ins, the seed, or routes from a "
                "changed router): compare routes.jsonl first, and re-record only with the engine the recording was made with"
            )
        for name, lines in rec[s]["files"].items():
            want = (root / s / name).read_text(encoding="utf-8").splitlines()
            got = as_text(lines).splitlines()
            if want != got:
                k = next(
                    (i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), min(len(want), len(got))
                )
                problems.append(
                    f"{s}/{name}: {len(got)} lines, recorded {len(want)}; first difference at line {k + 1}:\n"
                    f"  recorded: {want[k] if k < len(want) else '(end)'}\n  this run: {got[k] if k < len(got) else '(end)'}"
                )
    return problems


def run(
    bootstrap: str,
    *,
    scratch: Path,
    prefix: str,
    command: Sequence[str] | None = None,
    groups: Sequence[str] = (),
    follows_routes: bool = False,
) -> dict[str, dict[str, Any]]:
    """Start the worker (today's by default) on ``bootstrap``, play both scenarios, return the recording."""
    ensure_topics(bootstrap, prefix=prefix, partitions=TEST_PARTITIONS)
    worker = CommandWorker(
        command or [sys.executable, "-m", "hazmat", "worker"],
        scratch,
        bootstrap=bootstrap,
        prefix=prefix,
        archive=scratch / "archive.sqlite",
        log=scratch / "worker.log",
        extra_env={"HAZMAT_CITY": str(city_copy(scratch / "city"))},
    ).start()
    try:
        played = play(
            bootstrap, prefix, worker, list(groups) or [names.group_id(prefix)], follows_routes=follows_routes
        )
    except Exception:
        print(worker.tail(), file=sys.stderr)
        raise
    finally:
        worker.stop()
    return recording(played, prefix)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=GOLDEN, help="where to write the recording")
    parser.add_argument("--check", action="store_true", help="compare with the recording in --out instead")
    parser.add_argument("--bootstrap", help="use this Kafka instead of starting one")
    parser.add_argument("--worker-cmd", help="the worker's command line (default: today's `hazmat worker`)")
    parser.add_argument("--group", action="append", default=[], help="the worker's consumer group(s)")
    parser.add_argument(
        "--follow-routes", action="store_true", help="the worker reads the routes topic back (wait for it)"
    )
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="hazmat-golden-"))
    info = None if args.bootstrap else broker.start(home=scratch / "broker", progress=lambda _: None)
    bootstrap = args.bootstrap or info.bootstrap  # type: ignore[union-attr]
    prefix = f"g{uuid.uuid4().hex[:6]}." if args.bootstrap else ""
    t0 = time.monotonic()
    try:
        rec = run(
            bootstrap,
            scratch=scratch,
            prefix=prefix,
            command=shlex.split(args.worker_cmd) if args.worker_cmd else None,
            groups=args.group,
            follows_routes=args.follow_routes,
        )
    finally:
        if info is not None:
            broker.stop(home=scratch / "broker")
    took = time.monotonic() - t0
    for s in SCENARIOS:
        print(f"{s}: {json.dumps(rec[s]['meta']['outputs'])} {json.dumps(rec[s]['meta']['alert_kinds'])}")
    print(f"at-least-once copies dropped: {rec['_duplicates'] or 'none'}; {took:.0f} s (worker log: {scratch})")
    if args.check:
        problems = differences(rec, args.out)
        print("\n".join(problems) if problems else f"same as the recording in {args.out}")
        sys.exit(1 if problems else 0)
    write(rec, args.out)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
