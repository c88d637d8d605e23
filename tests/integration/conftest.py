"""The real Apache Kafka broker, started once per test session by the project's own code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hazmat import broker
from tests.kafka_helpers import Worker, new_prefix, prepare
from tests.routing_helpers import CHENGDU


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a fresh single-node KRaft broker on 127.0.0.1 (fetched from Maven Central once)."""
    home = tmp_path_factory.mktemp("broker")
    info = broker.start(home=home, progress=print)
    try:
        yield info.bootstrap
    finally:
        broker.stop(home=home)


@pytest.fixture(scope="session")
def chengdu_worker(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """One worker whose city is Chengdu (it has a road graph), shared by the route and monitoring tests.

    They keep out of each other's way with their own plates and request ids; a test that kills
    it starts it again before it returns.
    """
    folder = tmp_path_factory.mktemp("chengdu-worker")
    prefix = new_prefix()
    prepare(kafka, prefix)
    worker = Worker(
        bootstrap=kafka, prefix=prefix, archive=folder / "archive.sqlite", log=folder / "worker.log",
        extra_env={"HAZMAT_CITY": str(CHENGDU)},
    ).start()  # fmt: skip
    try:
        yield worker
    finally:
        worker.stop()
