"""The worker's two hot flows on Quix Streams 3.28: the prototype the engine migration starts from (issue #15).

Same pure core as the faust worker (``hazmat.streams.core``, ``hazmat.monitor``), three
dataframes in one application:

- **check-ins** → verdict and alerts (or a dead letter and its ``invalid_event`` alert), the
  archive entry through :class:`ArchiveSink` (one transaction per checkpoint: Quix flushes
  sinks before it commits offsets, or the Kafka transaction under exactly-once), and, for a
  passed load, a ``hazmat.vehicle-loads`` message keyed by plate;
- **monitoring** → positions, issued routes and those vehicle-loads messages, concatenated
  (all keyed by plate, so co-partitioned) into one stateful step. Quix then reads the three
  topics in timestamp order and keeps one state per plate in RocksDB with a changelog topic:
  ``monitor`` (the :class:`~hazmat.monitor.state.VehicleState`), ``route`` (the last issued
  route) and ``load`` (the last passed load and its open high-hazard flows).

What faust held in three tables (``vehicle-loads``, ``vehicle-routes``, ``vehicle-monitor``)
is one store here; the check-in flow tells the monitor about a load with an explicit
message instead of writing another flow's table. Both flows produce with librdkafka's
``murmur2_random`` partitioner, the Java client's (and kafka-python's and aiokafka's), so a
plate lands on the same partition whichever client produced it.

- **route requests** → permitted routes (the router is synchronous here: ~1 ms a request).

Not here yet (the migration's): the blacklist follower, deliveries and the overdue timer;
the check-in flow reads the city's ``blacklist.yaml`` only.

    python -m benchmarks.engines.quix_flows [--guarantee exactly-once] [--flows checkins,routes,monitoring]

Environment as for ``hazmat worker``: ``KAFKA_BOOTSTRAP_SERVERS``, ``HAZMAT_TOPIC_PREFIX``,
``HAZMAT_CITY``, ``HAZMAT_ARCHIVE``.
"""

from __future__ import annotations

import argparse
import json
import logging
import logging.config
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from quixstreams import Application, State, message_context
from quixstreams.models import TopicConfig
from quixstreams.models.serializers import Serializer
from quixstreams.sinks import BaseSink

from hazmat.archive import Entry
from hazmat.checking import log_verdict
from hazmat.events import Alert, InvalidEvent, Position, Route, decode
from hazmat.flows import TrackPoint
from hazmat.monitor.check import check
from hazmat.monitor.flowwatch import follow
from hazmat.monitor.state import LoadInfo, VehicleState
from hazmat.streams import core, names, state
from hazmat.streams.flowrecords import close
from hazmat.streams.worker import LOGGING

log = logging.getLogger("hazmat.streams.quix")

#: a passed load, told by the check-in flow to the monitoring flow (compacted, keyed by plate)
VEHICLE_LOADS = names.TopicSpec(
    "hazmat.vehicle-loads",
    "vehicle plate",
    "passed load: what it carries, flows it opened",
    {"cleanup.policy": "compact"},
)
#: librdkafka's Java-compatible partitioner (librdkafka's own default, consistent_random, is CRC32)
PARTITIONER = "murmur2_random"


class Emit(NamedTuple):
    """One message to produce; ``entry`` rides along on a verdict for the archive sink."""

    topic: str
    key: bytes | None
    value: bytes
    entry: Entry | None = None


class EmitValue(Serializer):
    """An :class:`Emit` is produced as its value bytes (the key and the topic come from it too)."""

    def __call__(self, value: Emit, ctx: Any) -> bytes:
        return value.value


class ArchiveSink(BaseSink):
    """Check-in and verdict records, written in one archive transaction per checkpoint.

    Quix flushes sinks before it commits the checkpoint's offsets (or its Kafka transaction),
    so a crash before the write means redelivery; the archive is idempotent by event id.
    """

    def __init__(self) -> None:
        super().__init__(on_client_connect_success=lambda: None)
        self._entries: list[Entry] = []

    def add(self, value: Emit, key: Any, timestamp: int, headers: Any, topic: str, partition: int, offset: int) -> None:
        if value.entry is not None:
            self._entries.append(value.entry)

    def flush(self) -> None:
        if self._entries:
            added = state.archive().record(self._entries)
            log.debug("archived", extra={"entries": len(self._entries), "added": added})
            self._entries = []


def _source(key: bytes | None) -> core.Source:
    ctx = message_context()
    return core.Source(topic=ctx.topic, partition=ctx.partition, offset=ctx.offset, key=key)


def _emits(outputs: list[core.Out], prefix: str) -> list[Emit]:
    return [Emit(o.topic.name(prefix), o.key, o.value) for o in outputs]


# --- check-ins ------------------------------------------------------------------------------


def judge(prefix: str) -> Callable[[bytes | None, bytes | None, int, Any], list[Emit]]:
    loads = VEHICLE_LOADS.name(prefix)

    def on_checkin(value: bytes | None, key: bytes | None, timestamp: int, headers: Any) -> list[Emit]:
        source, now = _source(key), datetime.now(UTC)
        try:
            h = core.handle_checkin(value, source, state.blacklist().settings, now)
        except Exception as exc:  # a bug must not drop the message: it goes to the DLQ with the reason
            log.exception("check-in handling failed", extra={"offset": source.offset, "partition": source.partition})
            h = core.reject(value, source, [{"loc": [], "msg": f"internal error: {type(exc).__name__}"}], now)
        if h.verdict is None:
            log.warning(
                "dead letter", extra={"partition": source.partition, "offset": source.offset, "errors": h.errors}
            )
            return _emits(h.outputs, prefix)
        log_verdict(log, h.verdict, load_level=logging.DEBUG)
        first, *rest = h.outputs  # the verdict, then its alerts
        out = [Emit(first.topic.name(prefix), first.key, first.value, h.entry), *_emits(rest, prefix)]
        if h.verdict.verdict == "load" and h.checkin is not None and h.entry is not None:
            opened = [f.flow_id for f in h.entry.flows]
            info = LoadInfo.after_load(h.checkin, h.verdict, opened, None)  # earlier flows: the monitor merges them
            out.append(Emit(loads, first.key, json.dumps(info.to_json()).encode()))
        return out

    return on_checkin


# --- route requests -------------------------------------------------------------------------


def plan_routes(prefix: str) -> Callable[[bytes | None, bytes | None, int, Any], list[Emit]]:
    plan = state.router_plan()  # the city's router, loaded once (blocking: before the first message)

    def on_request(value: bytes | None, key: bytes | None, timestamp: int, headers: Any) -> list[Emit]:
        source, now = _source(key), datetime.now(UTC)
        try:
            handled = core.handle_route_request(value, source, plan, now)
        except Exception as exc:  # a routing bug (RouteViolation included) must not drop the request
            log.exception("route request failed", extra={"partition": source.partition, "offset": source.offset})
            errors = [{"loc": [], "msg": f"internal error: {type(exc).__name__}: {exc}"}]
            handled = core.reject(value, source, errors, now)
        return _emits(handled.outputs, prefix)

    return on_request


# --- monitoring -----------------------------------------------------------------------------


def merged_load(passed: dict[str, Any], earlier: LoadInfo | None) -> LoadInfo:
    """A plate's load after a passed check-in: what it carries now; earlier flows stay open until they end."""
    new = LoadInfo.from_json(passed)
    assert new is not None
    still_open = tuple(f for f in (earlier.flows if earlier else ()) if f not in new.flows)
    return LoadInfo(new.decided_at_s, new.classes, new.un_numbers, (*still_open, *new.flows), None)


def monitor(prefix: str) -> Callable[[tuple[str, bytes | None], bytes | None, int, Any, State], list[Emit]]:
    alerts_topic = names.ALERTS.name(prefix)
    fence = state.geofence()  # built once, before the first message (it may load the road graph)
    settings, flow_settings = state.monitor_settings(), state.flow_settings()

    def on_route(raw: bytes | None, st: State) -> None:
        """The last permitted route issued to the plate (the corridor it must keep to)."""
        try:
            route = decode(Route, raw or b"")
        except InvalidEvent:
            log.warning("unreadable route on the routes topic", extra={"offset": message_context().offset})
            return
        if route.status == "ok" and route.geometry is not None:
            st.set("route", {"route_id": route.route_id, "coordinates": route.geometry.coordinates})

    def on_ping(raw: bytes | None, key: bytes | None, st: State) -> list[Emit]:
        source, now = _source(key), datetime.now(UTC)
        pos = core.decoded(Position, raw, source, now)
        if isinstance(pos, core.Handled):
            return _emits(pos.outputs, prefix)
        try:
            load = LoadInfo.from_json(st.get("load"))
            route = st.get("route")
            current = VehicleState.from_json(st.get("monitor"), pos.plate)
            new_state, alerts = check(pos, current, load, route, fence, settings)
        except Exception as exc:  # a bug must not stop monitoring: the ping goes to the DLQ with the reason
            log.exception("position handling failed", extra={"plate": pos.plate, "event_id": pos.event_id})
            errors = [{"loc": [], "msg": f"internal error: {type(exc).__name__}: {exc}"}]
            return _emits(core.reject(raw, source, errors, now).outputs, prefix)
        st.set("monitor", new_state.to_json())
        step = follow(pos, load, route, flow_settings)
        if step is not None:
            alerts = alerts + _follow_flows(pos, step)
            if load is not None and step.load != load:
                st.set("load", step.load.to_json())
        for alert in alerts:
            log.info(
                "alert", extra={"plate": pos.plate, "event_id": pos.event_id, "kind": alert.kind, "state": alert.state}
            )
        key = pos.plate.encode("utf-8")
        return [Emit(alerts_topic, key, core.encode(alert)) for alert in alerts]

    def on_vehicle_message(
        tagged: tuple[str, bytes | None], key: bytes | None, timestamp: int, headers: Any, st: State
    ) -> list[Emit]:
        kind, raw = tagged
        if kind == "ping":
            return on_ping(raw, key, st)
        if kind == "route":
            on_route(raw, st)
        elif kind == "load" and raw is not None:
            st.set("load", merged_load(json.loads(raw), LoadInfo.from_json(st.get("load"))).to_json())
        return []

    return on_vehicle_message


def _follow_flows(pos: Position, step: Any) -> list[Alert]:
    """As the faust agent does, synchronously (one archive write per vehicle per ``track_every_s`` at most)."""
    point = TrackPoint(pos.at, pos.lon, pos.lat, pos.event_id)
    if step.arrived:
        return close(state.archive(), pos.plate, step.arrived, pos.at, "arrived", pos.event_id, point)
    if step.track:
        state.archive().track(step.track, point)
    return []


# --- the application ------------------------------------------------------------------------


def build(
    bootstrap: str,
    *,
    prefix: str = "",
    guarantee: str = "at-least-once",
    flows: tuple[str, ...] = ("checkins", "routes", "monitoring"),
    group: str | None = None,
    state_dir: Path | None = None,
    commit_interval: float = 1.0,
    linger_ms: int = 5,
) -> Application:
    """The application with the chosen flows; ``commit_interval`` bounds exactly-once latency (outputs are
    visible to ``read_committed`` readers when the checkpoint's transaction commits)."""
    app = Application(
        broker_address=bootstrap,
        consumer_group=group or f"{names.app_id(prefix)}-quix",
        auto_offset_reset="earliest",
        processing_guarantee=guarantee,  # type: ignore[arg-type]
        commit_interval=commit_interval,
        state_dir=str(state_dir or "state"),  # Quix's default: ./state
        producer_extra_config={"partitioner": PARTITIONER, "linger.ms": linger_ms},
        consumer_extra_config={"partition.assignment.strategy": "range"},
        loglevel="WARNING",
        auto_create_topics=True,
    )

    # one definition per topic: read as bytes, written from an Emit (routes are both)
    specs = (*names.ALL, VEHICLE_LOADS)
    topics = {
        spec.base: app.topic(
            spec.name(prefix),
            value_deserializer="bytes",
            key_deserializer="bytes",
            value_serializer=EmitValue(),
            key_serializer="bytes",
            config=TopicConfig(names.DEFAULT_PARTITIONS, 1, dict(spec.config)),
        )
        for spec in specs
    }
    by_name = {spec.name(prefix): topics[spec.base] for spec in specs}

    def to_topic(emit: Emit, key: Any, timestamp: int, headers: Any) -> Any:
        return by_name[emit.topic]

    def key_of(emit: Emit) -> bytes | None:
        return emit.key

    if "checkins" in flows:
        checkins = app.dataframe(topics[names.CHECKINS.base]).apply(judge(prefix), metadata=True, expand=True)
        checkins.to_topic(to_topic, key=key_of)
        checkins.sink(ArchiveSink())
    if "routes" in flows:
        requests = app.dataframe(topics[names.ROUTE_REQUESTS.base]).apply(
            plan_routes(prefix), metadata=True, expand=True
        )
        requests.to_topic(to_topic, key=key_of)
    if "monitoring" in flows:
        tagged = [
            app.dataframe(topics[spec.base]).apply(lambda raw, tag=tag: (tag, raw))
            for spec, tag in ((names.POSITIONS, "ping"), (names.ROUTES, "route"), (VEHICLE_LOADS, "load"))
        ]
        vehicles = tagged[0].concat(tagged[1]).concat(tagged[2])
        vehicles = vehicles.apply(monitor(prefix), stateful=True, metadata=True, expand=True)
        vehicles.to_topic(to_topic, key=key_of)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guarantee", choices=["at-least-once", "exactly-once"], default="at-least-once")
    parser.add_argument("--flows", default="checkins,routes,monitoring")
    parser.add_argument("--commit-interval", type=float, default=1.0)
    parser.add_argument("--linger-ms", type=int, default=5)
    parser.add_argument("--state-dir", type=Path)
    parser.add_argument("--group")
    args = parser.parse_args()
    logging.config.dictConfig(LOGGING)  # the faust worker's: JSON lines on stderr
    state.city()  # a bad configuration stops the start, not the first message
    app = build(
        os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        prefix=names.prefix_from_env(),
        guarantee=args.guarantee,
        flows=tuple(args.flows.split(",")),
        group=args.group,
        state_dir=args.state_dir,
        commit_interval=args.commit_interval,
        linger_ms=args.linger_ms,
    )
    app.run()


if __name__ == "__main__":
    main()
