"""The stream's read (streams/consumer.py): on the first message, waiting long only when nothing is buffered.

librdkafka's client is replaced by a recorder of the calls it gets; what is under test is which
wait each read asks for and what it hands Quix. That it keeps the worker's outputs is the
golden test's (tests/integration/test_golden_alerts.py), through a real broker.
"""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import TopicPartition

from hazmat.streams.consumer import PromptConsumer, WorkerApplication


class Client:
    """Records poll/consume calls; ``queued`` is what librdkafka has fetched."""

    def __init__(self, queued: list[str]) -> None:
        self.queued = list(queued)
        self.calls: list[tuple[str, float, int]] = []

    def poll(self, timeout: float) -> str | None:
        self.calls.append(("poll", timeout, 1))
        return self.queued.pop(0) if self.queued else None

    def consume(self, num_messages: int, timeout: float) -> list[str]:
        self.calls.append(("consume", timeout, num_messages))
        out, self.queued = self.queued[:num_messages], self.queued[num_messages:]
        return out


class Msg:
    """Enough of a Kafka message for Quix's ordering buffer."""

    def __init__(self, topic: str, offset: int) -> None:
        self._topic, self._offset = topic, offset

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def timestamp(self) -> tuple[int, int]:
        return 1, 1000 + self._offset

    def error(self) -> None:
        return None


def consumer(queued: list[str], idle_s: float = 0.5) -> tuple[PromptConsumer, Client]:
    c = PromptConsumer(broker_address="127.0.0.1:1", consumer_group="g", auto_offset_reset="earliest", idle_s=idle_s)
    client = Client(queued)
    c._inner_consumer = client  # type: ignore[assignment]
    return c, client


def test_nothing_buffered_waits_the_idle_timeout_for_the_first_message() -> None:
    c, client = consumer([], idle_s=0.5)
    assert c.consume(10_000, 0.001) == []
    assert client.calls == [("poll", 0.5, 1)]


def test_the_first_message_comes_back_with_what_is_already_fetched_without_waiting() -> None:
    c, client = consumer(["a", "b", "c"])
    assert c.consume(10_000, 0.001) == ["a", "b", "c"]
    assert client.calls == [("poll", 0.5, 1), ("consume", 0, 9_999)]


def test_at_most_the_number_asked_for() -> None:
    c, client = consumer(["a", "b", "c"])
    assert c.consume(2, 0.001) == ["a", "b"]
    assert c.consume(1, 0.001) == ["c"]
    assert client.calls == [("poll", 0.5, 1), ("consume", 0, 1), ("poll", 0.5, 1)]


def test_messages_buffered_for_ordering_make_the_read_short() -> None:
    c, client = consumer([], idle_s=0.5)
    tps = [TopicPartition("checkins", 0), TopicPartition("positions", 0)]
    c._buffer.assign_partitions(tps)
    assert not c.buffered()
    c._buffer.feed([Msg("positions", 0)], high_watermarks={("checkins", 0): 5, ("positions", 0): 1})
    assert c.buffered()
    assert c.consume(10_000, 0.001) == []
    assert client.calls == [("poll", 0.001, 1)]


@pytest.mark.parametrize("timeout", [None, -1])
def test_an_endless_timeout_from_quix_never_blocks_a_buffered_read(timeout: Any) -> None:
    c, client = consumer([])
    c._buffer.assign_partitions([TopicPartition("positions", 0), TopicPartition("checkins", 0)])
    c._buffer.feed([Msg("positions", 0)], high_watermarks={("checkins", 0): 5, ("positions", 0): 1})
    c.consume(10_000, timeout)
    assert client.calls == [("poll", 0.0, 1)]


def test_the_application_reads_with_it() -> None:
    app = WorkerApplication(
        idle_poll_s=0.25, broker_address="127.0.0.1:1", consumer_group="g", consumer_extra_config={"x.y": 1}
    )
    made = app._get_internal_consumer()
    assert isinstance(made, PromptConsumer)
    assert made.idle_s == 0.25
    assert made._consumer_config["x.y"] == 1
    assert made._consumer_config["enable.auto.commit"] is False
