"""Shared fixtures: every test gets its own archive file and the default city."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres_server import PostgresServer


@pytest.fixture(autouse=True)
def _isolated_archive(tmp_path, monkeypatch):
    monkeypatch.setenv("HAZMAT_ARCHIVE", str(tmp_path / "archive.sqlite"))
    monkeypatch.delenv("HAZMAT_CITY", raising=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server for this test session (skipped, saying why, where none can run)."""
    # not under pytest's tmp dir: that is private to root, and the server runs as ``postgres``
    root = Path(tempfile.mkdtemp(prefix="hazmat-pg-"))
    server = PostgresServer(root)
    try:
        url = server.start()
    except (FileNotFoundError, KeyError) as exc:
        pytest.skip(f"no PostgreSQL server here ({exc}); .ci/run installs Debian's postgresql package")
    try:
        yield url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
