"""The worker's Quix Streams application: one stream of every input about a vehicle, one state per plate.

Check-ins, route requests, positions and deliveries (all keyed by plate) are concatenated
into one dataframe; one stateful step per message (:class:`~hazmat.streams.vehicles.Vehicles`)
returns the messages to produce, each to its topic, and the check-ins' archive entries go to
:class:`~hazmat.streams.sink.ArchiveSink`. Nothing here reads a topic the worker writes
(Quix's timestamp-ordered reading of several topics stalled for minutes on one in a
prototype). Settings: :mod:`hazmat.streams.settings`.
"""

from __future__ import annotations

from typing import Any

from quixstreams import Application, message_context
from quixstreams.models import TopicConfig
from quixstreams.models.serializers import Serializer

from . import handlers, names
from .agents.send import Emit
from .consumer import WorkerApplication
from .producer import PARTITIONER
from .settings import WorkerSettings
from .sink import ArchiveSink
from .vehicles import INPUTS, Vehicles, tagger

OUTPUTS = (names.VERDICTS, names.ALERTS, names.DLQ, names.ROUTES)


class EmitValue(Serializer):
    """An :class:`Emit` is produced as its value bytes (its key and topic come from it too)."""

    def __call__(self, value: Emit, ctx: Any) -> bytes:
        return value.value


def build(bootstrap: str, settings: WorkerSettings, *, prefix: str | None = None) -> Application:
    """The application on ``bootstrap``; the agents' resources (router, geofence) load here, before any message."""
    prefix = names.prefix_from_env() if prefix is None else prefix
    exactly_once = settings.processing_guarantee == "exactly-once"
    app = WorkerApplication(
        idle_poll_s=settings.idle_poll_s,
        broker_address=bootstrap,
        consumer_group=names.group_id(prefix),
        auto_offset_reset="earliest",
        processing_guarantee=settings.processing_guarantee,
        commit_interval=settings.commit_interval_s,
        # reading several topics in timestamp order, Quix fills its buffers with consume(10000, timeout),
        # and librdkafka waits out the whole timeout unless 10,000 messages come: our consumer returns on
        # the first message instead, waiting this short timeout while messages are buffered and
        # idle_poll_s when none are (streams/consumer.py; docs/decisions/0001-stream-engine.md)
        consumer_poll_timeout=settings.poll_timeout_s,
        consumer_extra_config={
            # a worker that dies (kill -9, lost host) hands its partitions over after 10 s
            "session.timeout.ms": 10_000,
            "heartbeat.interval.ms": 2_000,
            **({"isolation.level": "read_committed"} if exactly_once else {}),
        },
        producer_extra_config={"partitioner": PARTITIONER, "linger.ms": 5},
        state_dir=settings.state_path(),
        loglevel="WARNING",
        auto_create_topics=True,
    )

    def topic(spec: names.TopicSpec) -> Any:  # read as bytes (decoding and its errors are ours), written from an Emit
        return app.topic(
            spec.name(prefix),
            value_deserializer="bytes",
            key_deserializer="bytes",
            value_serializer=EmitValue(),
            key_serializer="bytes",
            config=TopicConfig(settings.partitions, 1, dict(spec.config)),
        )

    outputs = {spec.name(prefix): topic(spec) for spec in OUTPUTS}
    tagged = [app.dataframe(topic(spec)).apply(tagger(tag)) for spec, tag in INPUTS]
    vehicles = tagged[0]
    for other in tagged[1:]:
        vehicles = vehicles.concat(other)
    step = Vehicles()

    def handle(
        tagged: tuple[str, bytes | None], key: bytes | None, timestamp: int, headers: Any, st: Any
    ) -> list[Emit]:
        ctx = message_context()
        return step(tagged, handlers.Source(topic=ctx.topic, partition=ctx.partition, offset=ctx.offset, key=key), st)

    emitted = vehicles.apply(handle, stateful=True, metadata=True, expand=True)
    emitted.to_topic(lambda emit, key, timestamp, headers: outputs[emit.topic], key=lambda emit: emit.key)
    emitted.sink(ArchiveSink())
    return app
