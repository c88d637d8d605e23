"""The stream engine, measured (issue #15): the worker's two hot flows on Quix Streams, against its floor and the pure work.

One real broker; for each engine a fresh topic prefix, the same inputs in the same order:

- **ping**: position → per-vehicle state → alerts. 200 vehicles on Harbin, each checked in
  (a class-3 load, no high-hazard flow to track) and issued a real permitted route, driving
  along it; a vehicle's speed flips between 40 and 120 km/h every ten pings, so one ping in
  ten raises or clears ``speeding`` (the others change only the state);
- **check-in**: check-in → verdict, alerts and an archive row (batched transactions): the
  eleven Harbin sample check-ins, cycled (four load, seven refuse with alerts).

Measured per engine, in one run: the worker process's CPU per event (user + system from
/proc, threads included) over a burst produced as fast as the load generator goes, the
burst's sustained rate (first produced → last output), and p50/p99 from produced to output
(ping → its alert, check-in → its verdict) with both flows paced at 1,000/s each and at
2,000/s each. Baselines in the same run: the pure work in this process (the monitor check
alone; decode + state + check + encode; check-in decode + rules; its archive share in
batched SQLite transactions), each engine's stateful no-op (a state write per message and
one output in ten: the floor of that engine), and the broker alone (the same paced inputs
read back from their own topics, no worker). Every engine's outputs are checked against the
pure core's: the same alert ids for the same pings.

Engines: ``worker`` (the real ``hazmat worker``, Quix Streams, at-least-once) and ``worker-eos``
(``HAZMAT_PROCESSING_GUARANTEE=exactly-once``, commit every 0.1 s), ``worker-full-state`` (the
worker with its state as before it kept alert ids: benchmarks/engines/full_state.py), ``quix-noop`` and
``quix-eos-noop`` (benchmarks/engines/noop_quix.py: Quix's floor); variants for the settings
the decision record discusses: ``worker-poll10ms``, ``worker-poll1s``, ``worker-commit1s``;
``prototype`` (benchmarks/engines/quix_flows.py, the prototype the decision was taken on, as it
was at e878de6^) and ``worker-no-<part>`` / ``worker-no-all`` (benchmarks/engines/worker_without.py:
the worker with a candidate cause of latency taken out). A name given twice runs twice (A/B rounds
in one run, e.g. ``--engines worker,prototype,worker,prototype``). ``--waits`` adds a py-spy profile
with idle samples of each paced run (where the processing thread was, waiting included), and each
paced run reports the processing thread's share of the wall time on a CPU and runnable but waiting
for one (schedstat): a latency that follows the second is the machine's, not the engine's.
The faust arms (the worker before the migration, its tuned settings and its no-op) are gone
with faust; their figures stay in docs/decisions/0001-stream-engine.md. ``--profile`` adds a
py-spy profile of each engine's bursts and says where the time went.

    python benchmarks/bench_engines.py [--engines worker,quix-noop,…] [--profile] [--bootstrap HOST:PORT]

``--profile`` needs ``pip install py-spy`` in the venv (``make bench-engines`` does it).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import orjson  # Quix Streams' own JSON
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HAZMAT_CITY", "harbin")

from bench_kafka import cpu_seconds, pct  # noqa: E402
from record_alerts import CommandWorker, city_copy, wait_caught_up  # noqa: E402

from hazmat import broker  # noqa: E402
from hazmat.archive import open_archive  # noqa: E402
from hazmat.events import Position, RouteRequest, decode  # noqa: E402
from hazmat.monitor.judge import judge_position  # noqa: E402
from hazmat.monitor.simulate import drive  # noqa: E402
from hazmat.monitor.state import LoadInfo, VehicleState  # noqa: E402
from hazmat.streams import handlers, names, resources  # noqa: E402
from hazmat.streams.admin import ensure_topics  # noqa: E402
from tests.kafka_helpers import TEST_PARTITIONS  # noqa: E402

PY = sys.executable
SAMPLES = REPO / "config" / "cities" / "harbin" / "samples" / "morning-checkins.jsonl"
BOX = (126.55, 45.69, 126.73, 45.80)  # central Harbin, inside the bundled extract
DAY = datetime.fromisoformat("2026-11-26T10:00:00+08:00")
FLIP_EVERY = 10  # a vehicle's speed flips every this many pings: one ping in ten alerts
PARTITIONER = "murmur2_random"  # the Java client's, as kafka-python and aiokafka partition


@dataclass(frozen=True)
class Engine:
    name: str
    command: list[str]
    group: str  # the consumer group whose committed offsets say it is caught up (prefix added later)
    env: dict[str, str] = field(default_factory=dict)
    noop: bool = False


def engines() -> dict[str, Engine]:
    worker = [PY, "-m", "hazmat", "worker"]
    eos = {"HAZMAT_PROCESSING_GUARANTEE": "exactly-once", "HAZMAT_COMMIT_INTERVAL_S": "0.1"}
    noop = [PY, str(HERE / "engines" / "noop_quix.py")]
    without = [PY, str(HERE / "engines" / "worker_without.py")]
    group = "hazmat-checker-quix"
    parts = ("timer", "followers", "sink", "restart", "linger", "logging", "prompt")
    return {
        # the prototype the decision was taken on (commit e878de6^), as it was: the A/B baseline of the worker
        "prototype": Engine("prototype", [PY, str(HERE / "engines" / "quix_flows.py")], group),
        # the worker with one candidate cause of latency taken out (benchmarks/engines/worker_without.py)
        **{f"worker-no-{part}": Engine(f"worker-no-{part}", without, group, {"BENCH_WITHOUT": part}) for part in parts},
        "worker-no-all": Engine("worker-no-all", without, group, {"BENCH_WITHOUT": ",".join(parts[:-1])}),
        "worker": Engine("worker", worker, group),
        "worker-eos": Engine("worker-eos", worker, group, eos),
        # before the state kept alert ids (benchmarks/engines/full_state.py)
        "worker-full-state": Engine("worker-full-state", [PY, str(HERE / "engines" / "full_state.py")], group),
        "worker-poll10ms": Engine("worker-poll10ms", worker, group, {"HAZMAT_POLL_TIMEOUT_S": "0.01"}),
        "worker-poll1s": Engine("worker-poll1s", worker, group, {"HAZMAT_POLL_TIMEOUT_S": "1"}),
        "worker-commit1s": Engine("worker-commit1s", worker, group, {"HAZMAT_COMMIT_INTERVAL_S": "1"}),
        "quix-noop": Engine("quix-noop", noop, "hazmat-checker-noop-quix", noop=True),
        "quix-eos-noop": Engine(
            "quix-eos-noop", [*noop, "--guarantee", "exactly-once", "--commit-interval", "0.1"],
            "hazmat-checker-noop-quix", noop=True,
        ),
    }  # fmt: skip


# --- inputs and the pure work ---------------------------------------------------------------

Msg = tuple[str, bytes, bytes]  # event id, key, value


@dataclass
class Vehicle:
    plate: str
    checkin: bytes
    request: bytes
    route_dict: dict[str, Any]
    load: LoadInfo
    points: list[tuple[float, float]]
    sent: int = 0  # pings sent so far (the next one's index)


class Inputs:
    """Every input of a run, made once; the pure core is run over the same sequence to know each output."""

    def __init__(self, vehicles: int, seed: int = 15) -> None:
        self.fence = resources.geofence()  # as the worker builds it: Harbin's zones and fast roads
        self.settings = resources.monitor_settings()
        self.rule_settings = resources.blacklist().settings
        plan = resources.router_plan()
        template = next(json.loads(x) for x in SAMPLES.read_text(encoding="utf-8").splitlines() if '"hrb-0709"' in x)
        rng = random.Random(seed)
        self.vehicles: list[Vehicle] = []
        w, s, e, n = BOX
        while len(self.vehicles) < vehicles:
            k = len(self.vehicles)
            plate = f"黑B{k:05d}"
            request = RouteRequest.model_validate_json(
                json.dumps({
                    "schema_version": 1, "request_id": f"bench-rq-{k}", "plate": plate,
                    "load": [{"un_number": "UN1203", "hazard_class": "3", "quantity_kg": 20000}],
                    "origin": {"lon": rng.uniform(w, e), "lat": rng.uniform(s, n)},
                    "destination": {"lon": rng.uniform(w, e), "lat": rng.uniform(s, n)},
                    "depart_at": DAY.isoformat(),
                })
            )  # fmt: skip
            route = plan(request)
            if route.status != "ok" or route.geometry is None:
                continue
            checkin = json.loads(json.dumps(template))
            checkin.update(event_id=f"bench-ci-{k}", occurred_at=(DAY - timedelta(hours=1)).isoformat())
            checkin["vehicle"]["plate"] = checkin["documents"]["waybill"]["plate"] = plate
            raw = json.dumps(checkin, ensure_ascii=False).encode()
            h = handlers.handle_checkin(raw, handlers.Source("in", 0, 0, None), self.rule_settings, datetime.now(UTC))
            if h.verdict is None or h.checkin is None or h.verdict.verdict != "load":
                msg = f"the bench check-in must pass: {h.verdict or h.errors}"
                raise RuntimeError(msg)
            trip = drive(route.geometry.coordinates, plate=plate, start=DAY, speed_kmh=40, every_s=10)
            self.vehicles.append(
                Vehicle(
                    plate=plate,
                    checkin=raw,
                    request=request.model_dump_json().encode(),
                    route_dict={"route_id": route.route_id, "coordinates": route.geometry.coordinates},
                    load=LoadInfo.after_load(h.checkin, h.verdict, [], None),
                    points=[(p.lon, p.lat) for p in trip],
                )
            )
        self.states = {v.plate: VehicleState(plate=v.plate) for v in self.vehicles}
        self.samples = [line.encode() for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
        self.phases: dict[str, tuple[list[Msg], set[str]]] = {}
        self.plates_used = 0
        self.ci_phases: dict[str, list[Msg]] = {}

    def setup(self) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
        """Each vehicle's check-in and route request (a worker must hold its load and route before its pings)."""
        return (
            [(v.plate.encode(), v.checkin) for v in self.vehicles],
            [(v.plate.encode(), v.request) for v in self.vehicles],
        )

    def pings(self, phase: str, n: int) -> tuple[list[Msg], set[str]]:
        """``n`` pings continuing every vehicle's trip, and the ids of those that alert (from the pure core).

        Made once per phase and replayed to every engine; the pure core's state carries on from phase to
        phase exactly as each engine's does, since every engine gets every phase in the same order.
        """
        if phase in self.phases:
            return self.phases[phase]
        msgs, alerting = [], set()
        for i in range(n):
            v = self.vehicles[i % len(self.vehicles)]
            k = v.sent
            v.sent += 1
            lon, lat = v.points[k % len(v.points)]
            event_id = f"{phase}-{i:06d}"
            ping = {
                "schema_version": 1, "event_id": event_id, "plate": v.plate,
                "at": (DAY + timedelta(seconds=10 * k)).isoformat(), "lon": lon, "lat": lat,
                "speed_kmh": 120.0 if (k // FLIP_EVERY) % 2 else 40.0,
            }  # fmt: skip
            raw = json.dumps(ping, ensure_ascii=False).encode()
            pos = decode(Position, raw)
            self.states[v.plate], alerts = judge_position(
                pos, self.states[v.plate], v.load, v.route_dict, self.fence, self.settings
            )
            if alerts:
                alerting.add(event_id)
            msgs.append((event_id, v.plate.encode(), raw))
        self.phases[phase] = (msgs, alerting)
        return msgs, alerting

    def checkins(self, phase: str, n: int) -> list[Msg]:
        """The samples, cycled, each as another vehicle of the same province (a plate that loaded again
        and again without a delivery would pile up open flows, which is not what is measured here)."""
        if phase in self.ci_phases:  # every engine gets the same ones
            return self.ci_phases[phase]
        out = []
        for i in range(n):
            data = json.loads(self.samples[i % len(self.samples)])
            data["event_id"] = f"{phase}-{i:06d}"
            plate = f"{data['vehicle']['plate'][:2]}{(self.plates_used + i) % 100_000:05d}"
            data["vehicle"]["plate"] = plate
            if (data.get("documents") or {}).get("waybill"):
                data["documents"]["waybill"]["plate"] = plate
            out.append(
                (data["event_id"], data["vehicle"]["plate"].encode(), json.dumps(data, ensure_ascii=False).encode())
            )
        self.plates_used += n
        self.ci_phases[phase] = out
        return out


def pure_work(inputs: Inputs, n_pings: int, n_checkins: int, scratch: Path) -> dict[str, float]:
    """CPU µs per event of the work alone, in this process, on the same kind of inputs as the engines."""
    import copy

    out: dict[str, float] = {}
    saved = copy.deepcopy(inputs.states)
    sent = [v.sent for v in inputs.vehicles]
    msgs, _ = inputs.pings("pure", n_pings)  # advances the simulation; rewound below
    by_plate = {v.plate: v for v in inputs.vehicles}

    # (a) the monitor check alone, on decoded pings (state objects in memory)
    states = copy.deepcopy(saved)
    decoded = [decode(Position, raw) for _, _, raw in msgs]
    t = time.process_time()
    for pos in decoded:
        v = by_plate[pos.plate]
        states[pos.plate], _ = judge_position(
            pos, states[pos.plate], v.load, v.route_dict, inputs.fence, inputs.settings
        )
    out["ping: monitor check"] = (time.process_time() - t) / len(msgs) * 1e6

    # (b) what any engine's handler does around it: decode, state from/to JSON, alerts encoded
    blobs = {plate: json.dumps(s.to_json()).encode() for plate, s in saved.items()}
    loads = {v.plate: json.dumps(v.load.to_json()).encode() for v in inputs.vehicles}
    routes = {v.plate: json.dumps(v.route_dict).encode() for v in inputs.vehicles}
    now = datetime.now(UTC)
    t = time.process_time()
    for _, key, raw in msgs:
        pos = handlers.decoded(Position, raw, handlers.Source("p", 0, 0, key), now)
        assert isinstance(pos, Position)
        load = LoadInfo.from_json(json.loads(loads[pos.plate]))
        route = json.loads(routes[pos.plate])
        current = VehicleState.from_json(json.loads(blobs[pos.plate]), pos.plate)
        new, alerts = judge_position(pos, current, load, route, inputs.fence, inputs.settings)
        blobs[pos.plate] = json.dumps(new.to_json()).encode()
        _ = [handlers.encode(a) for a in alerts]
    out["ping: decode + state JSON + check + encode"] = (time.process_time() - t) / len(msgs) * 1e6

    # (b') the parts of (b) that are not the check: the ping's decode, the state's JSON round trip
    t = time.process_time()
    for _, _key, raw in msgs:
        decode(Position, raw)
    out["  of which: Position decode (pydantic)"] = (time.process_time() - t) / len(msgs) * 1e6
    for name, loads_, dumps_ in (("json", json.loads, json.dumps), ("orjson", orjson.loads, orjson.dumps)):
        t = time.process_time()
        for _, key, _raw in msgs:
            plate = key.decode()
            dumps_(VehicleState.from_json(loads_(blobs[plate]), plate).to_json())
        out[f"  of which: VehicleState JSON round trip ({name})"] = (time.process_time() - t) / len(msgs) * 1e6
        t = time.process_time()
        for _, key, _raw in msgs:
            loads_(routes[key.decode()])
        out[f"  of which: route from JSON ({name})"] = (time.process_time() - t) / len(msgs) * 1e6
    slim = {  # what-if: the state remembering each recent ping's alert ids, not the whole alerts
        plate: orjson.dumps({**d, "recent": {e: [a["alert_id"] for a in al] for e, al in d["recent"].items()}})
        for plate, d in ((plate, json.loads(b)) for plate, b in blobs.items())
    }
    t = time.process_time()
    for _, key, _raw in msgs:
        orjson.dumps(orjson.loads(slim[key.decode()]))
    out["  what-if: state with alert ids only, round trip (orjson)"] = (time.process_time() - t) / len(msgs) * 1e6
    out["  (state JSON size, bytes, mean)"] = sum(len(b) for b in blobs.values()) / len(blobs)
    out["  (what-if state size, bytes, mean)"] = sum(len(b) for b in slim.values()) / len(slim)
    out["  (route JSON size, bytes, mean)"] = sum(len(b) for b in routes.values()) / len(routes)

    # rewind: the engines get the "pure" phase's pings too, after this, in the same order
    inputs.states = saved
    for v, k in zip(inputs.vehicles, sent, strict=True):
        v.sent = k
    del inputs.phases["pure"]

    # (c) check-ins: decode + rules + alerts + archive entry; then the archive, batched
    checkins = inputs.checkins("pure-ci", n_checkins)
    t = time.process_time()
    handled = [
        handlers.handle_checkin(raw, handlers.Source("c", 0, 0, key), inputs.rule_settings, now)
        for _, key, raw in checkins
    ]
    out["check-in: decode + rules + alerts"] = (time.process_time() - t) / len(checkins) * 1e6
    entries = [h.entry for h in handled if h.entry is not None]
    for batch in (20, 200):
        archive = open_archive(scratch / f"pure-{batch}.sqlite")
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(0, len(entries), batch):
            archive.record(entries[i : i + batch])
        out[f"check-in: archive, batches of {batch} (CPU)"] = (time.process_time() - c0) / len(entries) * 1e6
        out[f"check-in: archive, batches of {batch} (wall)"] = (time.perf_counter() - t0) / len(entries) * 1e6
    return out


# --- load generator and reader --------------------------------------------------------------


def producer(bootstrap: str) -> Producer:
    return Producer({"bootstrap.servers": bootstrap, "linger.ms": 1, "partitioner": PARTITIONER, "acks": "all"})


def produce_all(p: Producer, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> None:
    for key, value in messages:
        while True:
            try:
                p.produce(topic, value, key)
                break
            except BufferError:
                p.poll(0.01)  # the local queue is full: let it drain
        p.poll(0)
    p.flush(60)


class Reader:
    """Reads output topics from their end in a thread and notes when each awaited id first arrives."""

    PATTERNS: ClassVar[dict[str, re.Pattern[bytes]]] = {"source_event_id": re.compile(rb'"source_event_id":\s*"([^"]+)"'),
                "checkin_event_id": re.compile(rb'"checkin_event_id":\s*"([^"]+)"'),
                "event_id": re.compile(rb'"event_id":\s*"([^"]+)"')}  # fmt: skip

    def __init__(self, bootstrap: str, topics: dict[str, str]) -> None:
        self.fields = topics  # topic → the id field to read
        self.c = Consumer({
            "bootstrap.servers": bootstrap, "group.id": f"bench-reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False, "isolation.level": "read_committed", "fetch.wait.max.ms": 5,
        })  # fmt: skip
        tps = []
        for topic in topics:  # from each partition's end now, before anything is produced
            for p in self._partitions(topic):
                tps.append(TopicPartition(topic, p, self._end(TopicPartition(topic, p))))
        self.c.assign(tps)
        self.seen: dict[str, float] = {}
        self.wanted: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _partitions(self, topic: str) -> list[int]:
        """The topic's partitions, once its metadata names them all with a leader.

        A topic just created can come back with an error and no partitions, or with some partitions
        still leaderless: a reader assigned from that read nothing of the missing partitions, and
        the outputs that were on them never arrived (the helper's A/B that did not finish).
        """
        deadline = time.monotonic() + 30
        while True:
            meta = self.c.list_topics(topic, timeout=10).topics.get(topic)
            parts = meta.partitions if meta is not None and meta.error is None else {}
            if parts and all(p.error is None and p.leader >= 0 for p in parts.values()):
                return sorted(parts)
            if time.monotonic() > deadline:
                msg = f"no metadata with leaders for {topic} after 30 s: {meta and meta.error}"
                raise RuntimeError(msg)
            time.sleep(0.2)  # polling interval of a condition wait

    def _end(self, tp: TopicPartition) -> int:
        """The partition's end offset, once it has a leader (a topic just created may not yet)."""
        deadline = time.monotonic() + 30
        while True:
            try:
                return self.c.get_watermark_offsets(tp, timeout=10)[1]
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)  # polling interval of a condition wait

    def _run(self) -> None:
        while not self._stop.is_set():
            # poll, not consume(n, timeout): librdkafka's batch call waits out its whole timeout
            # unless n messages come, which added ~25 ms to every latency measured
            m = self.c.poll(0.05)
            if m is None or m.error() is not None or m.value() is None:
                continue
            now = time.perf_counter()
            found = self.PATTERNS[self.fields[m.topic()]].search(m.value())
            if found:
                self.seen.setdefault(found.group(1).decode(), now)

    def wait(self, ids: set[str], timeout: float) -> float:
        """Until every id arrived; the time the last one did (``nan`` at the deadline)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(i in self.seen for i in ids):
                return max((self.seen[i] for i in ids), default=time.perf_counter())
            time.sleep(0.02)  # polling interval of a condition wait
        return float("nan")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.c.close()


def paced(p: Producer, streams: list[tuple[str, list[Msg]]], rate: float) -> dict[str, float]:
    """Each stream at ``rate``/s, interleaved; the time each message was handed to the producer.

    The collector is off meanwhile (and until :func:`quiet_gc_end`): this process holds every input of
    the run, and a full collection over them stalled the producer and the reader for a large part of
    a second, which showed as latency of whatever engine was being measured, the broker alone too.
    """
    schedule = sorted((i / rate, topic, msg) for topic, msgs in streams for i, msg in enumerate(msgs))
    sent: dict[str, float] = {}
    gc.collect()
    gc.freeze()
    gc.disable()
    start = time.perf_counter()
    for due, topic, (event_id, key, value) in schedule:
        while (now := time.perf_counter()) < start + due:
            time.sleep(min(start + due - now, 0.001))  # pacing the producer, not waiting for a result
        sent[event_id] = time.perf_counter()
        p.produce(topic, value, key)
        p.poll(0)
    p.flush(60)
    return sent


def quiet_gc_end() -> None:
    gc.enable()
    gc.unfreeze()


def cpu_now(worker: int, broker_pid: int | None) -> tuple[float, float, float, float]:
    """(wall, worker CPU, broker CPU, this process's CPU: the load generator and the reader), in s."""
    broker_s = cpu_seconds(broker_pid) if broker_pid else float("nan")
    return time.perf_counter(), cpu_seconds(worker), broker_s, time.process_time()


def main_thread_sched(pid: int) -> tuple[float, float, float]:
    """(wall, s on a CPU, s runnable but waiting for a CPU) of the engine's main thread: the one that processes.

    From /proc/<pid>/task/<pid>/schedstat (ns). The waiting share says whether a latency is the machine's:
    a processing thread that is ready to run but not running is starved, not blocked.
    """
    try:
        on_cpu, waiting, _ = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
    except (OSError, ValueError):
        return time.perf_counter(), float("nan"), float("nan")
    return time.perf_counter(), int(on_cpu) / 1e9, int(waiting) / 1e9


def cores_used(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float]:
    """Cores each of worker, broker and load generator used between two :func:`cpu_now` readings."""
    wall = b[0] - a[0]
    return (b[1] - a[1]) / wall, (b[2] - a[2]) / wall, (b[3] - a[3]) / wall


def latencies(sent: dict[str, float], seen: dict[str, float], ids: set[str]) -> list[float]:
    return sorted((seen[i] - sent[i]) * 1000 for i in ids if i in seen) or [float("nan")]


# --- a run ------------------------------------------------------------------------------------


@dataclass
class Result:
    engine: str
    cpu_us: dict[str, float] = field(default_factory=dict)  # flow → CPU µs per event
    rate: dict[str, float] = field(default_factory=dict)  # flow → sustained events/s
    lat: dict[tuple[str, int], tuple[float, float, int, int]] = field(default_factory=dict)  # p50, p99, got, n
    alerts_match: bool | None = None
    idle: float = float("nan")  # share of a core the engine uses with nothing to do
    cores: dict[int, tuple[float, float, float]] = field(default_factory=dict)  # rate → worker, broker, generator
    sched: dict[int, tuple[float, float]] = field(default_factory=dict)  # rate → main thread's on-CPU, run-queue share
    profile: dict[str, list[str]] = field(default_factory=dict)


@contextmanager
def running(engine: Engine, bootstrap: str, prefix: str, scratch: Path) -> Iterator[CommandWorker]:
    folder = scratch / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', engine.name)}-{prefix.rstrip('.')}"
    folder.mkdir(parents=True)
    # Harbin with flow_overdue_h at ten years: the samples' loads are days old by the wall clock, and
    # the worker's overdue timer would raise an alert for each of their flows inside the measured bursts
    city = scratch / "city" / "harbin"
    if not city.is_dir():
        city_copy(scratch / "city")
    w = CommandWorker(
        engine.command, folder, bootstrap=bootstrap, prefix=prefix, archive=folder / "archive.sqlite",
        log=folder / "worker.log", extra_env={"HAZMAT_CITY": str(city), **engine.env},
    ).start()  # fmt: skip
    try:
        yield w
    finally:
        w.stop()


def profile(pid: int, seconds: float, out: Path, *, waits: bool = False) -> subprocess.Popen[bytes]:
    """py-spy on the engine, sampling only the thread that holds the GIL: where its Python time goes
    (waiting threads and the event loop's idle select would otherwise fill the profile).

    ``waits``: every thread, idle samples included, so where the processing thread *waits* shows too
    (a latency that is not CPU: a blocking call, a flush, a poll's timeout, the GIL)."""
    mode = ["--idle", "--threads"] if waits else ["--gil"]
    return subprocess.Popen(
        [str(Path(PY).parent / "py-spy"), "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
         "--rate", "200", *mode, "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def where_it_waited(raw: Path) -> list[str]:
    """The processing thread's samples (those under Quix's ``Application.run``) by innermost frame, idle included."""
    if not raw.is_file():
        return ["(no profile: py-spy could not attach)"]
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not count_s.isdigit() or "(quixstreams/app.py" not in stack:
            continue
        frames = stack.split(";")
        total += int(count_s)
        inner = [re.sub(r":\d+\)$", ")", f) for f in frames[-2:]]
        leaves[" < ".join(reversed(inner))] += int(count_s)
    if not total:
        return ["(no samples of the processing thread)"]
    return [f"{c * 100 / total:5.1f} %  {f[:150]}" for f, c in leaves.most_common(14)]


#: where a sample's time goes: the innermost frame that belongs to one of these (py-spy names a file
#: relative to its sys.path entry: site-packages, the checkout, or the script's folder)
OWNERS = [
    ("logging", ("(logging/", "(hazmat/logs.py")),
    ("archive (SQLite)", ("(hazmat/archive.py", "(sqlite3/")),
    ("pure core (ours + pydantic, shapely)", (
        "(monitor/", "(rules/", "(routing/", "(hazmat/events.py", "(hazmat/alerts.py", "(hazmat/checking.py",
        "(streams/handlers.py", "(hazmat/flows.py", "(pydantic/", "(pydantic_core/", "(shapely/")),
    ("our glue (agents, state, app)", ("(streams/", "(noop_quix.py")),
    ("quixstreams", ("(quixstreams/",)),
    ("confluent-kafka / rocksdict", ("(confluent_kafka/", "(rocksdict/")),
    ("threads (followers, timer)", ("(threading.py",)),
]  # fmt: skip


def where_time_went(raw: Path) -> list[str]:
    """py-spy's collapsed stacks → share of samples per owner, and the busiest functions (self time)."""
    if not raw.is_file():
        return ["(no profile: py-spy could not attach)"]
    owners: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not count_s.isdigit():
            continue
        count = int(count_s)
        frames = stack.split(";")
        total += count
        leaves[re.sub(r":\d+\)$", ")", frames[-1])] += count
        owner = "other (stdlib, threads)"
        for frame in reversed(frames):
            match = next((name for name, marks in OWNERS if any(m in frame for m in marks)), None)
            if match:
                owner = match
                break
        owners[owner] += count
    if not total:
        return ["(empty profile)"]
    lines = [f"{share * 100 / total:5.1f} %  {name}" for name, share in owners.most_common()]
    lines += ["  busiest functions (self):"] + [
        f"{c * 100 / total:5.1f} %  {f[:110]}" for f, c in leaves.most_common(8)
    ]
    return lines


def run_engine(
    engine: Engine, inputs: Inputs, bootstrap: str, scratch: Path, args: argparse.Namespace, *, profile_it: bool
) -> Result:
    prefix = f"e{uuid.uuid4().hex[:6]}."
    ensure_topics(bootstrap, prefix=prefix, partitions=TEST_PARTITIONS)  # as measured for the decision record
    topic = {spec.base: spec.name(prefix) for spec in names.ALL}
    group = f"{prefix}{engine.group}"
    result = Result(engine.name)
    p = producer(bootstrap)
    reader = Reader(
        bootstrap, {topic["hazmat.alerts"]: "source_event_id", topic["hazmat.verdicts"]: "checkin_event_id"}
    )
    with running(engine, bootstrap, prefix, scratch) as w:
        assert w.proc is not None
        try:
            checkins, requests = inputs.setup()
            if not engine.noop:
                produce_all(p, topic["hazmat.checkins"], checkins)
                produce_all(p, topic["hazmat.route-requests"], requests)
                inputs_ = [topic["hazmat.checkins"], topic["hazmat.route-requests"]]
                wait_caught_up(bootstrap, [group], inputs_, w.alive, "setup")
            warm, _ = inputs.pings("warm", 2 * len(inputs.vehicles))
            produce_all(p, topic["hazmat.positions"], [(k, v) for _, k, v in warm])
            wait_caught_up(bootstrap, [group], [topic["hazmat.positions"]], w.alive, "warm-up")
            cpu0 = cpu_seconds(w.proc.pid)
            time.sleep(3)  # measuring the idle engine's own CPU, not waiting for a result
            result.idle = (cpu_seconds(w.proc.pid) - cpu0) / 3

            # bursts: CPU per event and the sustained rate
            flows = [("ping", "hazmat.positions", *inputs.pings("burst", args.pings))]
            if not engine.noop:
                flows.append(("check-in", "hazmat.checkins", inputs.checkins("burst-ci", args.checkins), None))
            for flow, base, msgs, alerting in flows:
                expected = {m[0] for m in msgs} if alerting is None else alerting
                cpu0, t0 = cpu_seconds(w.proc.pid), time.perf_counter()
                produce_all(p, topic[base], [(k, v) for _, k, v in msgs])
                if engine.noop:
                    wait_caught_up(bootstrap, [group], [topic[base]], w.alive, f"{flow} burst")
                    last = time.perf_counter()
                else:
                    last = reader.wait(expected, 300)
                    result.alerts_match = (result.alerts_match is not False) and not (expected - reader.seen.keys())
                result.cpu_us[flow] = (cpu_seconds(w.proc.pid) - cpu0) / len(msgs) * 1e6
                result.rate[flow] = len(msgs) / (last - t0)
            if profile_it:
                for flow, base, make in (
                    ("ping", "hazmat.positions", lambda: inputs.pings("profile", args.pings)[0]),
                    ("check-in", "hazmat.checkins", lambda: inputs.checkins("profile-ci", args.checkins)),
                ):
                    if flow == "check-in" and engine.noop:
                        continue
                    msgs = make()
                    out = scratch / f"profile-{engine.name}-{flow}.txt"
                    spy = profile(w.proc.pid, args.pings / max(result.rate.get(flow, 1000), 100) + 2, out)
                    time.sleep(0.5)  # py-spy attaches before the burst
                    produce_all(p, topic[base], [(k, v) for _, k, v in msgs])
                    spy.wait()
                    wait_caught_up(bootstrap, [group], [topic[base]], w.alive, f"{flow} profile")
                    result.profile[flow] = where_time_went(out)
            if not engine.noop:
                for rate in args.rates:
                    pings, alerting = inputs.pings(f"lat{rate}", int(rate * args.seconds))
                    cis = inputs.checkins(f"lat{rate}-ci", int(rate * args.seconds))
                    before = cpu_now(w.proc.pid, args.broker_pid)
                    sched0 = main_thread_sched(w.proc.pid)
                    if args.waits:
                        out = scratch / f"waits-{engine.name}-{rate}-{prefix.rstrip('.')}.txt"
                        spy = profile(w.proc.pid, args.seconds, out, waits=True)
                    sent = paced(p, [(topic["hazmat.positions"], pings), (topic["hazmat.checkins"], cis)], rate)
                    ci_ids = {m[0] for m in cis}
                    reader.wait(alerting | ci_ids, args.seconds + 60)
                    result.cores[rate] = cores_used(before, cpu_now(w.proc.pid, args.broker_pid))
                    sched1 = main_thread_sched(w.proc.pid)
                    wall = sched1[0] - sched0[0]
                    result.sched[rate] = ((sched1[1] - sched0[1]) / wall, (sched1[2] - sched0[2]) / wall)
                    if args.waits:
                        spy.wait()
                        result.profile[f"paced {rate}/s, where the processing thread was"] = where_it_waited(out)
                    quiet_gc_end()
                    for flow, ids in (("ping", alerting), ("check-in", ci_ids)):
                        values = latencies(sent, reader.seen, ids)
                        result.lat[(flow, rate)] = (pct(values, 50), pct(values, 99), len(values), len(ids))
            elif engine.noop:  # keep every engine's pure-core sequence aligned: the phases exist for all
                for rate in args.rates:
                    inputs.pings(f"lat{rate}", int(rate * args.seconds))
            if not w.alive():
                msg = f"{engine.name} died:\n{w.tail()}"
                raise RuntimeError(msg)
        except Exception:
            print(w.tail(30), file=sys.stderr)
            raise
        finally:
            reader.close()
    return result


def broker_alone(
    inputs: Inputs, bootstrap: str, rates: Sequence[int], seconds: float
) -> dict[int, tuple[float, float]]:
    """p50/p99 of the same paced mix read back from the input topics, no worker: the floor of any engine."""
    prefix = f"e{uuid.uuid4().hex[:6]}."
    ensure_topics(bootstrap, prefix=prefix, partitions=TEST_PARTITIONS)
    positions, checkins = names.POSITIONS.name(prefix), names.CHECKINS.name(prefix)
    out = {}
    p = producer(bootstrap)
    for rate in rates:
        reader = Reader(bootstrap, {positions: "event_id", checkins: "event_id"})
        n = int(rate * seconds)
        pings = [  # ping-sized messages; the simulation is not advanced (no engine sees them)
            (f"b{rate}-{i}", v.plate.encode(), json.dumps({
                "schema_version": 1, "event_id": f"b{rate}-{i}", "plate": v.plate, "at": DAY.isoformat(),
                "lon": v.points[0][0], "lat": v.points[0][1], "speed_kmh": 40.0}, ensure_ascii=False).encode())
            for i, v in ((i, inputs.vehicles[i % len(inputs.vehicles)]) for i in range(n))
        ]  # fmt: skip
        cis = inputs.checkins(f"b{rate}-ci", n)
        warm = [
            (f"w{rate}-{i}", k, v.replace(e.encode(), f"w{rate}-{i}".encode()))
            for i, (e, k, v) in enumerate(pings[:rate])
        ]
        paced(p, [(positions, warm * 3)], rate)  # new topics: leaders, metadata and the reader settle first
        reader.wait({m[0] for m in warm}, 30)
        quiet_gc_end()
        sent = paced(p, [(positions, pings), (checkins, cis)], rate)
        ids = set(sent)
        reader.wait(ids, seconds + 30)
        quiet_gc_end()
        values = latencies(sent, reader.seen, ids)
        reader.close()
        out[rate] = (pct(values, 50), pct(values, 99))
    return out


# --- report ----------------------------------------------------------------------------------


def report(
    pure: dict[str, float], results: dict[str, Result], base: dict[int, tuple[float, float]], rates: Sequence[int]
) -> None:
    print("\npure work in this process (CPU µs per event)")
    for name, us in pure.items():
        print(f"  {name:48}{us:8.1f}")
    noop = {r.engine: r.cpu_us.get("ping", float("nan")) for r in results.values() if r.engine.endswith("noop")}
    fastest = min(noop.values(), default=float("nan"))
    ping_target = 1.5 * (pure["ping: monitor check"] + fastest)
    archive_share = pure["check-in: archive, batches of 20 (CPU)"]
    work_ci = pure["check-in: decode + rules + alerts"] + archive_share

    print(
        "\nbroker alone (same paced mix, read back, after the engines): "
        + ", ".join(f"{r}/s each: p50 {b[0]:.1f} ms, p99 {b[1]:.1f} ms" for r, b in base.items())
    )
    lat_cols = "".join(f"{f'p50/p99 ms @{r}/s':>22}" for r in rates)
    print(f"\n{'engine':16}{'flow':10}{'CPU µs/ev':>10}{'× work':>8}{'target':>8}{'sustained/s':>13}{lat_cols}")
    for r in results.values():
        for flow in ("ping", "check-in"):
            if flow not in r.cpu_us:
                continue
            us = r.cpu_us[flow]
            if flow == "ping":
                work, target = pure["ping: monitor check"], ping_target
            else:
                own_noop = noop.get(f"quix{'-eos' if 'eos' in r.engine else ''}-noop", fastest)
                work, target = work_ci, 1.5 * (work_ci + own_noop)
            cells = ""
            for rate in rates:
                got = r.lat.get((flow, rate))
                if got is None:
                    cells += f"{'—':>22}"
                    continue
                p50, p99, n_got, n = got
                mark = "" if n_got == n else f" ({n - n_got} late)"
                cells += f"{f'{p50:.0f} / {p99:.0f}{mark}':>22}"
            verdict = "" if r.engine.endswith("noop") else ("meets" if us <= target else "misses")
            print(f"{r.engine:16}{flow:10}{us:10.0f}{us / work:8.1f}{verdict:>8}{r.rate[flow]:13,.0f}{cells}")
    print(
        f"\ntargets: ping ≤ 1.5 × (check {pure['ping: monitor check']:.0f} + fastest stateful no-op {fastest:.0f}) = {ping_target:.0f} µs; "
        f"check-in ≤ 1.5 × (decode+rules {pure['check-in: decode + rules + alerts']:.0f} + archive share {archive_share:.0f} + the engine's no-op); "
        f"p99 ≤ max(100 ms, 1.5 × broker alone)"
    )
    for rate in rates:
        limit = max(100.0, 1.5 * base.get(rate, (0, 0))[1])
        ok = [f"{r.engine} {flow}" for r in results.values() for flow in ("ping", "check-in")
              if (flow, rate) in r.lat and r.lat[(flow, rate)][1] <= limit and r.lat[(flow, rate)][2] == r.lat[(flow, rate)][3]]  # fmt: skip
        print(f"  p99 ≤ {limit:.0f} ms at {rate}/s each: {', '.join(ok) or 'none'}")
    for rate in rates:
        used = [f"{r.engine} {c[0]:.2f}/{c[1]:.2f}/{c[2]:.2f}" for r in results.values() if (c := r.cores.get(rate))]
        if used:
            print(
                f"  cores used at {rate}/s each (worker/broker/load generator, from start to last output): {', '.join(used)}"
            )
    for rate in rates:
        got = [f"{r.engine} {c[0]:.2f}/{c[1]:.2f}" for r in results.values() if (c := r.sched.get(rate))]
        if got:
            print(
                f"  processing thread at {rate}/s each, share of the wall time on a CPU / runnable but waiting "
                f"for one (schedstat): {', '.join(got)}"
            )
    print("  idle engine, share of a core: " + ", ".join(f"{r.engine} {r.idle * 100:.1f} %" for r in results.values()))
    for r in results.values():
        if r.alerts_match is not None:
            print(f"  {r.engine}: every alert and verdict the pure core expects arrived: {r.alerts_match}")
    for r in results.values():
        for flow, lines in r.profile.items():
            print(f"\nprofile: {r.engine}, {flow} burst (py-spy, share of samples)")
            print("\n".join(f"  {line}" for line in lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="quix-noop,quix-eos-noop,worker-full-state,worker,worker-eos")
    parser.add_argument("--vehicles", type=int, default=200)
    parser.add_argument("--pings", type=int, default=20_000, help="pings per burst")
    parser.add_argument("--checkins", type=int, default=10_000, help="check-ins per burst")
    parser.add_argument("--seconds", type=float, default=10, help="length of each paced run")
    parser.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 2000])
    parser.add_argument("--profile", action="store_true", help="py-spy each engine's bursts")
    parser.add_argument(
        "--waits", action="store_true", help="py-spy (idle samples too) each engine's paced runs: where it waited"
    )
    parser.add_argument("--bootstrap", help="use this Kafka instead of starting one")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="hazmat-engines-"))
    info = None if args.bootstrap else broker.start(home=scratch / "broker", progress=lambda _: None)
    bootstrap = args.bootstrap or info.bootstrap  # type: ignore[union-attr]
    args.broker_pid = info.pid if info is not None else None
    try:
        t = time.perf_counter()
        inputs = Inputs(args.vehicles)
        print(f"broker {bootstrap}, {os.cpu_count()} cores; {len(inputs.vehicles)} vehicles with routes "
              f"(inputs ready in {time.perf_counter() - t:.0f} s); scratch {scratch}", flush=True)  # fmt: skip
        pure = pure_work(inputs, args.pings, args.checkins, scratch)
        base = broker_alone(inputs, bootstrap, args.rates, args.seconds)
        before_p99 = {rate: base[rate][1] for rate in base}
        results = {}
        catalogue = engines()
        for name in args.engines.split(","):  # a name given twice runs twice (A/B rounds): its results as name#2
            t = time.perf_counter()
            run = name if name not in results else f"{name}#{sum(r.split('#')[0] == name for r in results) + 1}"
            results[run] = run_engine(catalogue[name], inputs, bootstrap, scratch, args, profile_it=args.profile)
            results[run].engine = run
            print(f"  {run}: done in {time.perf_counter() - t:.0f} s", flush=True)
        # the reference is the broker after the engines: a broker just started is still warming up (its
        # p99 before the engines was 0.2–0.7 s in some runs, after them 6–14 ms)
        after = broker_alone(inputs, bootstrap, args.rates, args.seconds)
        base = after
        print(
            "broker alone, before / after the engines: "
            + "; ".join(f"{r}/s p99 {before_p99[r]:.1f} / {after[r][1]:.1f} ms" for r in args.rates)
        )
        report(pure, results, base, args.rates)
    finally:
        if info is not None:
            broker.stop(home=scratch / "broker")


if __name__ == "__main__":
    main()
