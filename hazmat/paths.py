"""Where the project keeps things on the user's machine, and how an archive target is told apart.

One definition each (XDG base directories): the cache (Kafka, road graphs) and the data home
(the default SQLite archive).
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/hazmat-checker`` (``~/.cache/hazmat-checker``): Kafka, road graphs."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hazmat-checker"


def data_root() -> Path:
    """``$XDG_DATA_HOME/hazmat-checker`` (``~/.local/share/hazmat-checker``): the default archives."""
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "hazmat-checker"


def is_database_url(target: str | os.PathLike[str]) -> bool:
    """A ``postgresql://`` URL (the archive on PostgreSQL), not a SQLite file path."""
    return str(target).startswith(("postgresql://", "postgres://"))
