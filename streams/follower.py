"""Following a compacted topic whole on every worker (the blacklist, the passes), in a thread of its own.

A consumer group would split the partitions between workers, and each worker needs every
entry, so this assigns itself all partitions (no group membership, nothing committed), reads
them from the beginning, and sets ``ready`` once it has reached the ends they had at start:
the worker starts its stream only then, so nothing is judged against a stale list.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from . import handlers
from .agents.send import Emit
from .bootstrap import bootstrap_servers
from .producer import send_now

log = logging.getLogger("hazmat.streams.follower")

#: how long the follower waits for the topic's metadata at start
METADATA_TIMEOUT_S = 60.0


def source_of(m: Message) -> handlers.Source:
    return handlers.Source(topic=m.topic() or "", partition=m.partition() or 0, offset=m.offset() or 0, key=m.key())


class Follower(threading.Thread):
    """Hands every record of ``topic`` to ``apply`` (which returns what to produce: dead letters) until stopped."""

    def __init__(
        self,
        topic: str,
        client_id: str,
        ready: threading.Event,
        apply: Callable[[Message], list[Emit]],
        caught_up: Callable[[int], None],
    ) -> None:
        super().__init__(name=client_id, daemon=True)
        self.topic, self.client_id, self.ready = topic, client_id, ready
        self.apply, self.caught_up = apply, caught_up
        self.stopping = threading.Event()

    def run(self) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers(),
                "group.id": f"{self.client_id}-{uuid.uuid4().hex[:8]}",  # never joined: partitions are assigned
                "enable.auto.commit": False,
                "client.id": self.client_id,
            }
        )
        try:
            ends = self._ends(consumer)
            consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in ends])
            self._check_ready(consumer, ends)
            while not self.stopping.is_set():
                m = consumer.poll(0.5)
                if m is not None:
                    if m.error():
                        log.warning("follower read error", extra={"topic": self.topic, "error": str(m.error())})
                    else:
                        self._apply(m)
                if not self.ready.is_set():
                    self._check_ready(consumer, ends)
        except Exception:  # a follower that cannot read keeps the worker from starting, which must say why
            log.exception("follower stopped", extra={"topic": self.topic})
        finally:
            consumer.close()

    def _apply(self, m: Message) -> None:
        try:
            send_now(self.apply(m))
        except Exception:  # a bug or a refused message must not stop the follower: logged with where it was
            log.exception("follower message failed", extra={"topic": self.topic, "offset": m.offset()})

    def _ends(self, consumer: Consumer) -> dict[int, tuple[int, int]]:
        deadline = time.monotonic() + METADATA_TIMEOUT_S
        while True:
            try:
                meta = consumer.list_topics(self.topic, timeout=10).topics.get(self.topic)
                if meta is not None and meta.error is None and meta.partitions:
                    return {
                        p: consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)
                        for p in sorted(meta.partitions)
                    }
            except KafkaException as exc:
                log.warning("follower metadata", extra={"topic": self.topic, "error": str(exc)})
            if time.monotonic() > deadline:
                msg = f"no topic {self.topic} after {METADATA_TIMEOUT_S:.0f} s"
                raise ConnectionError(msg)
            time.sleep(0.5)  # polling the metadata until the topic shows, with a deadline

    def _check_ready(self, consumer: Consumer, ends: dict[int, tuple[int, int]]) -> None:
        wanted = {p: high for p, (low, high) in ends.items() if high > low}
        if wanted:
            at = {tp.partition: tp.offset for tp in consumer.position([TopicPartition(self.topic, p) for p in wanted])}
            if any(at.get(p, -1) < high for p, high in wanted.items()):
                return
        self.ready.set()
        self.caught_up(len(ends))
