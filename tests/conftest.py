"""Shared fixtures: every test gets its own archive file and the default city."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_archive(tmp_path, monkeypatch):
    monkeypatch.setenv("HAZMAT_ARCHIVE", str(tmp_path / "archive.sqlite"))
    monkeypatch.delenv("HAZMAT_CITY", raising=False)
