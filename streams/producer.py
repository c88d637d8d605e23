"""The producer of what the worker sends outside its stream: the followers' dead letters, overdue alerts.

librdkafka's default partitioner (``consistent_random``, CRC32) is not the Java client's, which
kafka-python and aiokafka follow (murmur2): every producer of the worker sets
``murmur2_random``, so a plate's messages land on one partition whichever client wrote them.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from confluent_kafka import Producer

from .agents.send import Emit
from .bootstrap import bootstrap_servers

log = logging.getLogger("hazmat.streams.producer")

#: librdkafka's Java-compatible partitioner
PARTITIONER = "murmur2_random"

_producer: Producer | None = None
_lock = threading.Lock()


def side_producer() -> Producer:
    """One per process, shared by the follower and timer threads (librdkafka's producer is thread-safe)."""
    global _producer
    with _lock:
        if _producer is None:
            _producer = Producer(
                {
                    "bootstrap.servers": bootstrap_servers(),
                    "partitioner": PARTITIONER,
                    "enable.idempotence": True,
                    "linger.ms": 5,
                    "client.id": "hazmat-side",
                }
            )
        return _producer


def send_now(emits: list[Emit], timeout_s: float = 30.0) -> None:
    """Produce and wait until the broker has them all (what is sent before it is marked done)."""
    if not emits:
        return
    producer = side_producer()
    failed: list[Any] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            failed.append(err)

    for e in emits:
        producer.produce(e.topic, value=e.value, key=e.key, on_delivery=delivered)
    left = producer.flush(timeout_s)
    if left or failed:
        msg = f"{left} messages not delivered, errors {failed[:3]}"
        raise RuntimeError(msg)
