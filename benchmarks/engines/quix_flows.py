"""The worker's hot flows on Quix Streams 3.28: the prototype the engine migration starts from (issue #15).

Same pure core as the faust worker (``hazmat.streams.handlers``, ``hazmat.monitor``). Every
input that concerns one vehicle is keyed by its plate, so one dataframe takes them all:
check-ins, route requests and positions, concatenated, then one stateful step per message
with one state per plate (RocksDB, changelog topic):

- ``load``: the plate's last passed check-in and its open high-hazard flows (written by its
  check-in, read by its pings);
- ``route``: the last permitted route issued to it (written when its route is planned);
- ``monitor``: its :class:`~hazmat.monitor.state.VehicleState`.

A check-in gives its verdict and alerts (or a dead letter and an ``invalid_event`` alert),
and its archive entry goes to :class:`ArchiveSink`: one transaction per checkpoint, which
Quix flushes before it commits the offsets (or the Kafka transaction, exactly-once). A route
request gives its route; a ping, its alerts. faust kept three tables that two agents wrote
and a third read; here nothing reads a topic the application writes (an early version told
the monitor about loads through a topic of its own, and Quix's timestamp-ordered reading of
several topics then stalled on it for minutes), and what concerns a plate is handled in the
order it happened: Quix reads concatenated topics in timestamp order.

Produced with librdkafka's ``murmur2_random`` partitioner, the Java client's (and
kafka-python's and aiokafka's): a plate lands on the same partition whichever client wrote.

Not here yet (the migration's): the blacklist follower (the city's ``blacklist.yaml`` only),
deliveries and the overdue timer.

    python benchmarks/engines/quix_flows.py [--guarantee exactly-once] [--commit-interval 0.1]

Environment as for ``hazmat worker``: ``KAFKA_BOOTSTRAP_SERVERS``, ``HAZMAT_TOPIC_PREFIX``,
``HAZMAT_CITY``, ``HAZMAT_ARCHIVE``.
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
from collections import OrderedDict
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
from hazmat.events import Alert, Position, Route, RouteRequest
from hazmat.flows import TrackPoint
from hazmat.flows.store import close
from hazmat.flows.watch import FlowStep, follow
from hazmat.monitor.judge import judge_position
from hazmat.monitor.state import LoadInfo, VehicleState
from hazmat.streams import handlers, names, resources
from hazmat.streams.worker import LOGGING

log = logging.getLogger("hazmat.streams.quix")

#: plates whose decoded route a worker keeps in memory (the oldest are read from the state again)
ROUTES_KEPT = 20_000
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
            added = resources.archive().record(self._entries)
            log.debug("archived", extra={"entries": len(self._entries), "added": added})
            self._entries = []


def _source(key: bytes | None) -> handlers.Source:
    ctx = message_context()
    return handlers.Source(topic=ctx.topic, partition=ctx.partition, offset=ctx.offset, key=key)


class Vehicles:
    """One message about a plate, its state → what to produce. The pure core does the work."""

    def __init__(self, prefix: str, *, routes: bool) -> None:
        self.prefix = prefix
        self.alerts = names.ALERTS.name(prefix)
        self.fence = resources.geofence()  # built once, before the first message (it loads the road graph)
        self.plan: Callable[[RouteRequest], Route] | None = resources.router_plan() if routes else None
        self.settings, self.flow_settings = resources.monitor_settings(), resources.flow_settings()
        #: each plate's route as last read from the state or written to it: the state keeps the route
        #: (hundreds of points: decoding it cost more than the monitor check) and, apart, its id,
        #: which a ping reads to know the route it holds is still the plate's
        self.routes: OrderedDict[bytes, dict[str, Any]] = OrderedDict()

    def __call__(
        self, tagged: tuple[str, bytes | None], key: bytes | None, timestamp: int, headers: Any, st: State
    ) -> list[Emit]:
        kind, raw = tagged
        source, now = _source(key), datetime.now(UTC)
        if kind == "ping":
            return self.ping(raw, source, now, st)
        if kind == "checkin":
            return self.checkin(raw, source, now, st)
        return self.route_request(raw, source, now, st)

    def emits(self, outputs: list[handlers.Out]) -> list[Emit]:
        return [Emit(o.topic.name(self.prefix), o.key, o.value) for o in outputs]

    def checkin(self, raw: bytes | None, source: handlers.Source, now: datetime, st: State) -> list[Emit]:
        try:
            h = handlers.handle_checkin(raw, source, resources.blacklist().settings, now)
        except Exception as exc:  # a bug must not drop the message: it goes to the DLQ with the reason
            log.exception("check-in handling failed", extra={"offset": source.offset, "partition": source.partition})
            h = handlers.reject(raw, source, [{"loc": [], "msg": f"internal error: {type(exc).__name__}"}], now)
        if h.verdict is None:
            log.warning(
                "dead letter", extra={"partition": source.partition, "offset": source.offset, "errors": h.errors}
            )
            return self.emits(h.outputs)
        log_verdict(log, h.verdict, load_level=logging.DEBUG)
        if h.verdict.verdict == "load" and h.checkin is not None and h.entry is not None:
            try:
                opened = [f.flow_id for f in h.entry.flows]
                earlier = LoadInfo.from_json(st.get("load"))
                st.set("load", LoadInfo.after_load(h.checkin, h.verdict, opened, earlier).to_json())
            except Exception:  # a bug here must not stop judging: the verdict is out, the monitor misses one load
                log.exception("load not recorded", extra={"plate": h.verdict.plate, "event_id": h.checkin.event_id})
        first, *rest = h.outputs  # the verdict (it carries the archive entry), then its alerts
        return [Emit(first.topic.name(self.prefix), first.key, first.value, h.entry), *self.emits(rest)]

    def route_request(self, raw: bytes | None, source: handlers.Source, now: datetime, st: State) -> list[Emit]:
        assert self.plan is not None
        planned: list[Route] = []

        def plan(request: RouteRequest) -> Route:
            planned.append(self.plan(request))  # type: ignore[misc]
            return planned[-1]

        try:
            handled = handlers.handle_route_request(raw, source, plan, now)
        except Exception as exc:  # a routing bug (RouteViolation included) must not drop the request
            log.exception("route request failed", extra={"partition": source.partition, "offset": source.offset})
            handled = handlers.reject(
                raw, source, [{"loc": [], "msg": f"internal error: {type(exc).__name__}: {exc}"}], now
            )
        route = planned[-1] if planned and handled.errors is None else None
        if route is not None and route.status == "ok" and route.geometry is not None:
            # the corridor the vehicle must keep to from now on
            st.set("route", {"route_id": route.route_id, "coordinates": route.geometry.coordinates})
            st.set("route_id", route.route_id)
        return self.emits(handled.outputs)

    def route_of(self, key: bytes | None, st: State) -> dict[str, Any] | None:
        """The plate's route, decoded from the state only when it changed (or fell out of the cache)."""
        route_id = st.get("route_id")
        if route_id is None or key is None:
            return None
        kept = self.routes.get(key)
        if kept is None or kept["route_id"] != route_id:
            kept = st.get("route")
            self.routes[key] = kept
            if len(self.routes) > ROUTES_KEPT:
                self.routes.popitem(last=False)
        return kept

    def ping(self, raw: bytes | None, source: handlers.Source, now: datetime, st: State) -> list[Emit]:
        pos = handlers.decoded(Position, raw, source, now)
        if isinstance(pos, handlers.Handled):
            return self.emits(pos.outputs)
        try:
            load = LoadInfo.from_json(st.get("load"))
            route = self.route_of(source.key, st)
            current = VehicleState.from_json(st.get("monitor"), pos.plate)
            new_state, alerts = judge_position(pos, current, load, route, self.fence, self.settings)
        except Exception as exc:  # a bug must not stop monitoring: the ping goes to the DLQ with the reason
            log.exception("position handling failed", extra={"plate": pos.plate, "event_id": pos.event_id})
            errors = [{"loc": [], "msg": f"internal error: {type(exc).__name__}: {exc}"}]
            return self.emits(handlers.reject(raw, source, errors, now).outputs)
        st.set("monitor", new_state.to_json())
        step = follow(pos, load, route, self.flow_settings)
        if step is not None:
            alerts = alerts + follow_flows(pos, step)
            if load is not None and step.load != load:
                st.set("load", step.load.to_json())
        key = pos.plate.encode("utf-8")
        for alert in alerts:
            log.info(
                "alert", extra={"plate": pos.plate, "event_id": pos.event_id, "kind": alert.kind, "state": alert.state}
            )
        return [Emit(self.alerts, key, handlers.encode(alert)) for alert in alerts]


def follow_flows(pos: Position, step: FlowStep) -> list[Alert]:
    """As the faust agent does, synchronously (one archive write per vehicle per ``track_every_s`` at most)."""
    point = TrackPoint(pos.at, pos.lon, pos.lat, pos.event_id)
    if step.arrived:
        return close(resources.archive(), pos.plate, step.arrived, pos.at, "arrived", pos.event_id, point)
    if step.track:
        resources.archive().track(step.track, point)
    return []


def build(
    bootstrap: str,
    *,
    prefix: str = "",
    guarantee: str = "at-least-once",
    routes: bool = True,
    group: str | None = None,
    state_dir: Path | None = None,
    commit_interval: float = 0.25,
    linger_ms: int = 5,
    poll_timeout: float = 0.001,
) -> Application:
    """The application; ``commit_interval`` bounds exactly-once latency (outputs become visible to
    ``read_committed`` readers when the checkpoint's transaction commits), ``routes=False`` leaves
    route requests alone (no router to load)."""
    app = Application(
        broker_address=bootstrap,
        consumer_group=group or f"{names.app_id(prefix)}-quix",
        auto_offset_reset="earliest",
        processing_guarantee=guarantee,  # type: ignore[arg-type]
        commit_interval=commit_interval,
        # reading several topics in timestamp order, Quix fills its buffers with consume(10000, timeout),
        # and librdkafka waits out the whole timeout unless 10,000 messages come; a message whose
        # partition group has an empty buffer waits for the next fill. Measured at 1,000 pings and
        # 1,000 check-ins a second: p50 ≈ 400 ms with the default 1 s and with 10 ms, 13 ms with 1 ms
        consumer_poll_timeout=poll_timeout,
        state_dir=str(state_dir or "state"),  # Quix's default: ./state
        producer_extra_config={"partitioner": PARTITIONER, "linger.ms": linger_ms},
        loglevel="WARNING",
        auto_create_topics=True,
    )

    def topic(spec: names.TopicSpec) -> Any:  # read as bytes, written from an Emit
        return app.topic(
            spec.name(prefix),
            value_deserializer="bytes",
            key_deserializer="bytes",
            value_serializer=EmitValue(),
            key_serializer="bytes",
            config=TopicConfig(names.DEFAULT_PARTITIONS, 1, dict(spec.config)),
        )

    outputs = {spec.name(prefix): topic(spec) for spec in (names.VERDICTS, names.ALERTS, names.DLQ, names.ROUTES)}
    inputs = [(names.CHECKINS, "checkin"), (names.POSITIONS, "ping")]
    if routes:
        inputs.append((names.ROUTE_REQUESTS, "route_request"))
    tagged = [app.dataframe(topic(spec)).apply(lambda raw, tag=tag: (tag, raw)) for spec, tag in inputs]
    vehicles = tagged[0]
    for other in tagged[1:]:
        vehicles = vehicles.concat(other)
    vehicles = vehicles.apply(Vehicles(prefix, routes=routes), stateful=True, metadata=True, expand=True)
    vehicles.to_topic(lambda emit, key, timestamp, headers: outputs[emit.topic], key=lambda emit: emit.key)
    vehicles.sink(ArchiveSink())
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guarantee", choices=["at-least-once", "exactly-once"], default="at-least-once")
    parser.add_argument("--no-routes", action="store_true", help="leave route requests alone (no router)")
    parser.add_argument("--commit-interval", type=float, default=0.25, help="s; a checkpoint: archive, offsets")
    parser.add_argument("--linger-ms", type=int, default=5)
    parser.add_argument("--poll-timeout", type=float, default=0.001, help="s; bounds the wait of ordered reads")
    parser.add_argument("--state-dir", type=Path)
    parser.add_argument("--group")
    args = parser.parse_args()
    logging.config.dictConfig(LOGGING)  # the faust worker's: JSON lines on stderr
    resources.city()  # a bad configuration stops the start, not the first message
    app = build(
        os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        prefix=names.prefix_from_env(),
        guarantee=args.guarantee,
        routes=not args.no_routes,
        group=args.group,
        state_dir=args.state_dir,
        commit_interval=args.commit_interval,
        linger_ms=args.linger_ms,
        poll_timeout=args.poll_timeout,
    )
    app.run()


if __name__ == "__main__":
    main()
