"""The spec's topics as faust topics with raw bytes, so decoding (and its errors) is ours."""

from __future__ import annotations

from faust import TopicT

from . import names
from .app import app
from .handlers import Out


def _topic(spec: names.TopicSpec) -> TopicT:
    return app.topic(
        spec.name(),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=names.DEFAULT_PARTITIONS,
    )


BY_BASE: dict[str, TopicT] = {spec.base: _topic(spec) for spec in names.ALL}
checkins = BY_BASE[names.CHECKINS.base]
blacklist = BY_BASE[names.BLACKLIST.base]


async def send(out: Out) -> None:
    """Hand one message to the producer (returns once it is buffered, not delivered).

    Straight to faust's producer rather than ``Topic.send``: the channel machinery costs
    more than the rule evaluation. Delivery is still at-least-once: faust flushes this
    producer before it commits the consumed offsets.
    """
    await app.producer.send(out.topic.name(), out.key, out.value, partition=None, timestamp=None, headers=None)
