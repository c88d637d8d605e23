"""A real ``hazmat serve`` process and a real worker on the session's broker, per test module."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hazmat.api.keys import add_key, new_key
from hazmat.cityfolder import init_city
from tests.helpers import REPO
from tests.integration.conftest import kafka  # noqa: F401  (the session's broker)
from tests.kafka_helpers import Worker, new_prefix, prepare
from tests.routing_helpers import CHENGDU

#: this run's keys: made now, stored (hashed) in the server's own copy of the city by ``api_city``
SITE, OTHER_SITE, DISPATCH, POLICE = (new_key() for _ in range(4))


@pytest.fixture(scope="module")
def api_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test city copied as an operator does (``hazmat config init``), with this run's keys added.

    The copy keeps the folder's name, so it shares the road graph cached for Chengdu.
    """
    folder = tmp_path_factory.mktemp("api-city") / CHENGDU.name
    init_city(folder, CHENGDU)
    add_key(folder, role="site", site_id="DT-LS-001", name="loading site DT-LS-001", key=SITE)
    add_key(folder, role="site", site_id="DT-LS-002", name="loading site DT-LS-002", key=OTHER_SITE)
    add_key(folder, role="dispatcher", name="dispatch centre", key=DISPATCH)
    add_key(folder, role="police", name="traffic police", key=POLICE)
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def api_prefix(kafka: str) -> str:  # noqa: F811
    """This module's topic prefix (its topics created): tests that produce positions write there."""
    prefix = new_prefix()
    prepare(kafka, prefix)
    return prefix


@pytest.fixture(scope="module")
def server(
    kafka: str,  # noqa: F811
    api_prefix: str,
    api_city: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("api")
    prefix = api_prefix
    env = {"HAZMAT_CITY": str(api_city), "HAZMAT_ARCHIVE": str(folder / "archive.sqlite")}
    worker = Worker(
        bootstrap=kafka, prefix=prefix, archive=folder / "archive.sqlite", log=folder / "worker.log", extra_env=env
    ).start()
    port = _free_port()
    with (folder / "api.log").open("ab") as log:
        api = subprocess.Popen(
            [sys.executable, "-m", "hazmat", "serve", "--port", str(port)],
            env={**os.environ, **env, "KAFKA_BOOTSTRAP_SERVERS": kafka, "HAZMAT_TOPIC_PREFIX": prefix},
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).json().get("feed"):
                break
        except httpx.HTTPError:
            pass
        assert api.poll() is None, (folder / "api.log").read_text()
        time.sleep(0.1)  # polling a starting server, bounded by the deadline
    else:
        raise AssertionError((folder / "api.log").read_text())
    try:
        yield base
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=30)
        worker.stop()
