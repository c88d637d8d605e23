"""The worker starts its stream again when Kafka stops it (a restarted broker forgot the group), and only then."""

from __future__ import annotations

import logging

import pytest
from confluent_kafka import KafkaError
from quixstreams.checkpointing.exceptions import CheckpointConsumerCommitError

from hazmat.streams.worker import run_until_stopped

log = logging.getLogger("test")


def unknown_member() -> CheckpointConsumerCommitError:
    """What Quix raises when the commit of a checkpoint comes back "Unknown member" (a broker restarted)."""
    return CheckpointConsumerCommitError(
        KafkaError(KafkaError.UNKNOWN_MEMBER_ID, "Commit failed: Broker: Unknown member")
    )


class FakeApp:
    """An application whose ``run`` raises what it is given, or returns (a clean stop)."""

    def __init__(self, raises: Exception | None = None) -> None:
        self.raises, self.runs = raises, 0

    def run(self) -> None:
        self.runs += 1
        if self.raises is not None:
            raise self.raises


def test_a_commit_refused_by_kafka_starts_a_new_stream_until_one_stops_cleanly():
    failing = FakeApp(unknown_member())
    built = [FakeApp(unknown_member()), FakeApp()]
    run_until_stopped(failing, lambda: built.pop(0), log, first_delay_s=0)
    assert failing.runs == 1
    assert built == []  # both rebuilt: the second failure started a third stream, which stopped cleanly


def test_a_bug_is_not_retried():
    app = FakeApp(ValueError("a bug in a handler"))
    with pytest.raises(ValueError, match="a bug"):
        run_until_stopped(app, lambda: pytest.fail("no new stream after a bug"), log, first_delay_s=0)
    assert app.runs == 1
