"""The real Apache Kafka broker, started once per test session by the project's own code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hazmat import broker


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a fresh single-node KRaft broker on 127.0.0.1 (fetched from Maven Central once)."""
    home = tmp_path_factory.mktemp("broker")
    info = broker.start(home=home, progress=print)
    try:
        yield info.bootstrap
    finally:
        broker.stop(home=home)
