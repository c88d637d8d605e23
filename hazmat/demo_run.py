"""What one ``hazmat demo`` run leaves behind, and how the next run clears it.

Each run has its own id: its topics and consumer group carry the prefix ``demo-<id>.``
and its events the ids ``demo-<id>-…``, so nothing of an earlier run (topics, the worker's
changelog tables, archived check-ins) can be mistaken for this one's. A run that ends,
normally or on Ctrl-C, deletes its topics and group, stops its worker and its broker and
closes the high-hazard flows it left open. A run that could not (``kill -9``, a second
Ctrl-C, a closed terminal) is tidied by the next one, which finds in the broker home:

- ``demo.lock``: held (``flock``) while a demo runs, so two demos never share one broker
  home; the kernel releases it when the holder dies, however it dies;
- ``demo.json``: the previous run's id, its worker's pid and whether it started the broker;
- topics and groups named ``demo-<id>.`` of earlier runs, which it deletes.

The archive keeps every run's check-ins (they are the demo's record); only flows the demo
opened (check-in ids ``demo-<id>-…``, or the samples' own ids and times, from before runs had
ids) and left open are closed, as ``demo_ended``, before the worker starts, so no worker
raises ``flow_overdue`` for them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import signal
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from hazmat.archive import open_archive
from hazmat.flows import Flow

log = logging.getLogger("hazmat.demo")

#: a run id: 8 hex digits (``secrets.token_hex(4)``)
_RUN_ID = r"[0-9a-f]{8}"
DEMO_EVENT_ID = re.compile(rf"^demo-{_RUN_ID}-")
CLOSED_HOW = "demo_ended"


def new_run_id() -> str:
    return secrets.token_hex(4)


def topic_prefix(base: str, run_id: str) -> str:
    """The run's topic prefix and consumer group prefix, after the user's ``HAZMAT_TOPIC_PREFIX``."""
    return f"{base}demo-{run_id}."


def event_id(run_id: str, name: str) -> str:
    return f"demo-{run_id}-{name}"


#: what the worker's state changelog topics start with (Quix names them ``changelog__<group>--<topics>--<store>``)
CHANGELOG = "changelog__"


def run_name(name: str) -> str:
    """A topic or group name without the changelog mark, so it starts with its run's prefix."""
    return name.removeprefix(CHANGELOG)


def demo_names(names: Iterable[str], base: str, *, keep: str | None = None) -> list[str]:
    """The topic or group names of demo runs (``<base>demo-<id>.…``, and their workers' changelog topics),
    except those of the run prefix ``keep``."""
    pattern = re.compile(rf"^(?:{CHANGELOG})?{re.escape(base)}demo-{_RUN_ID}\.")
    return sorted(n for n in names if pattern.match(n) and not (keep and run_name(n).startswith(keep)))


class DemoBusyError(RuntimeError):
    """Another demo holds this broker home."""


@dataclass
class RunState:
    """What ``demo.json`` records about a run, written as it goes so a killed run leaves it behind."""

    run_id: str
    pid: int
    worker_pid: int | None = None
    broker: str | None = None  # "starting", or the pid (as text) of the broker the demo started
    extra: dict[str, Any] = field(default_factory=dict)


class DemoHome:
    """The demo's lock and state file in the broker home; a context manager holding the lock."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.lock_path = home / "demo.lock"
        self.state_path = home / "demo.json"
        self.worker_datadir = home / "demo-worker"
        self._lock: IO[str] | None = None
        self.previous: RunState | None = None

    def __enter__(self) -> DemoHome:
        self.home.mkdir(parents=True, exist_ok=True)
        lock = self.lock_path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            lock.close()
            msg = f"another hazmat demo (pid {holder}) is running on {self.home}; wait for it to end"
            raise DemoBusyError(msg) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        self._lock = lock
        self.previous = self._read()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def _read(self) -> RunState | None:
        try:
            return RunState(**json.loads(self.state_path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def save(self, state: RunState) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state.__dict__), encoding="utf-8")
        tmp.replace(self.state_path)

    def forget(self) -> None:
        self.state_path.unlink(missing_ok=True)

    def adopts(self, broker_pid: int) -> bool:
        """True when the running broker was started by a demo that could not stop it."""
        prev = self.previous
        return prev is not None and prev.broker in ("starting", str(broker_pid))


def stop_stale_worker(pid: int | None) -> bool:
    """Stop the worker an earlier demo left running (its own process group); False if there is none.

    Only a process that still is a ``hazmat worker`` leading its own group is stopped, so a
    recycled pid is left alone.
    """
    if pid is None or not _is_worker(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _is_worker(pid):
        time.sleep(0.1)  # polling the process table until it has gone, with a deadline
    if _is_worker(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    return True


def _is_worker(pid: int) -> bool:
    try:
        if os.getpgid(pid) != pid:
            return False
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except (OSError, ProcessLookupError):
        return False
    return b"hazmat" in argv and b"worker" in argv


def delete_demo_topics(bootstrap: str, base: str, *, only: str | None = None, keep: str | None = None) -> list[str]:
    """Delete demo topics and consumer groups (those of the run prefix ``only``, or every demo run's but ``keep``).

    Returns the topics deleted. Errors are logged, not raised: tidying must never fail a run,
    and what is left now goes next time (a group's offsets also expire on their own).
    """
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    def wanted(names: Iterable[str]) -> list[str]:
        return [n for n in demo_names(names, base, keep=keep) if only is None or run_name(n).startswith(only)]

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="hazmat-demo", request_timeout_ms=15000)
    except (KafkaError, OSError) as exc:
        log.warning("demo topics not deleted", extra={"error": str(exc)})
        return []
    topics: list[str] = []
    try:
        topics = wanted(admin.list_topics())
        if topics:
            admin.delete_topics(topics, timeout_ms=30000)
    except (KafkaError, OSError) as exc:
        log.warning("demo topics not deleted", extra={"error": str(exc)})
        topics = []
    try:  # a broker that has just started may still be loading its groups: then they wait for the next run
        if groups := wanted(_group_id(g) for g in admin.list_groups()):
            admin.delete_groups(groups)
    except (KafkaError, OSError) as exc:
        log.warning("demo consumer groups not deleted", extra={"error": str(exc)})
    finally:
        admin.close()
    return topics


def _group_id(group: Any) -> str:
    if isinstance(group, dict):
        return str(group.get("group_id") or group.get("groups_id") or "")
    return str(group[0])


def close_open_flows(
    archive_target: str | Path, *, run_id: str | None = None, samples: Mapping[str, datetime] | None = None
) -> list[str]:
    """Close the high-hazard flows demo runs opened and left open (one run's, or every run's).

    Only flows of demo check-ins are touched: ids ``demo-<id>-…``, and, with ``samples`` (sample
    event id → its time as written), those the demo opened before it had run ids: the sample's
    very id *and* time, 2026-11-26, which a real check-in does not share. Run before the worker
    starts or after it stopped, so no worker writes the same flows meanwhile.
    """
    mine = re.compile(rf"^demo-{re.escape(run_id)}-") if run_id else DEMO_EVENT_ID
    legacy = samples or {}

    def demos(f: Flow) -> bool:
        at = legacy.get(f.checkin_event_id)
        return bool(mine.match(f.checkin_event_id)) or (at is not None and f.opened_at == at)

    archive = open_archive(archive_target)
    try:
        ids = [s.flow.flow_id for s in archive.flows(open_only=True) if demos(s.flow)]
        if not ids:
            return []
        return archive.close_flows(ids, datetime.now(UTC), CLOSED_HOW, f"demo-{run_id or 'next'}-cleanup", None)
    finally:
        archive.close()


def open_flows(archive_target: str | Path, checkin_ids: Iterable[str]) -> dict[str, str | None]:
    """Each flow of these check-ins: ``None`` while open, else how it closed (``arrived``, ``delivery``)."""
    wanted = set(checkin_ids)
    archive = open_archive(archive_target)
    try:
        return {s.flow.flow_id: s.closed_how for s in archive.flows() if s.flow.checkin_event_id in wanted}
    finally:
        archive.close()


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP (a closed terminal) end the demo like Ctrl-C: through its clean-up."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    saved = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """Ignore Ctrl-C, SIGTERM and SIGHUP while the demo stops what it started (a second Ctrl-C must not halve it)."""
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    saved = {s: signal.signal(s, signal.SIG_IGN) for s in sigs}
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
