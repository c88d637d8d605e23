"""A real ``hazmat serve`` process and a real worker on the session's broker, per test module."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.helpers import REPO
from tests.integration.conftest import kafka  # noqa: F401  (the session's broker)
from tests.kafka_helpers import Worker, new_prefix, prepare
from tests.routing_helpers import CHENGDU

SITE, OTHER_SITE, DISPATCH, POLICE = "demo-site-DT-LS-001", "demo-site-DT-LS-002", "demo-dispatcher", "demo-police"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # noqa: F811
    folder = tmp_path_factory.mktemp("api")
    prefix = new_prefix()
    prepare(kafka, prefix)
    env = {"HAZMAT_CITY": str(CHENGDU), "HAZMAT_ARCHIVE": str(folder / "archive.sqlite")}
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
