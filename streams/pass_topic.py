"""The ``hazmat.passes`` topic from outside a worker: ``hazmat pass issue|revoke|list`` write and read it.

Writing is one message keyed by the pass id (a null value revokes); reading takes every
partition from the beginning up to the end it had when asked, and applies each message as a
worker would (``streams.passes``), so ``list`` shows what every worker holds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from hazmat.passes import PassBook

from . import names
from .handlers import Source
from .passes import PassChange, handle_pass

#: how long reading waits for the topic's partitions and their messages
READ_TIMEOUT_S = 30.0


def send(bootstrap: str, pass_id: str, value: bytes | None, *, prefix: str | None = None) -> None:
    """Produce one pass (or, with ``value`` None, its revocation), acknowledged by the broker."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        producer.send(names.PASSES.name(prefix), key=pass_id.encode("utf-8"), value=value).get(timeout=30)
    finally:
        producer.close(timeout=10)


def read(bootstrap: str, features: Sequence[Any], *, prefix: str | None = None) -> tuple[PassBook, int]:
    """The passes in force on the topic now, and how many of its messages were refused (dead letters)."""
    topic = names.PASSES.name(prefix)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    book, refused = PassBook(), 0
    try:
        deadline = time.monotonic() + READ_TIMEOUT_S
        parts = consumer.partitions_for_topic(topic)
        while not parts:
            if time.monotonic() > deadline:
                msg = f"no topic {topic} on {bootstrap}"
                raise ConnectionError(msg)
            consumer.topics()  # fresh metadata
            parts = consumer.partitions_for_topic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        while any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                msg = f"{topic} was not read to its end within {READ_TIMEOUT_S:.0f} s"
                raise ConnectionError(msg)
            for tp, records in consumer.poll(timeout_ms=500).items():
                for r in records:
                    source = Source(topic=tp.topic, partition=tp.partition, offset=r.offset, key=r.key)
                    change = handle_pass(r.value, source, datetime.now(UTC), features)
                    if isinstance(change, PassChange):
                        if change.granted is None:
                            book.revoke(change.pass_id)
                        else:
                            book.put(change.granted)
                    else:
                        refused += 1
        return book, refused
    finally:
        consumer.close()
