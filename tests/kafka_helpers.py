"""Helpers for tests on the real broker: run a worker, produce, and wait for conditions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from hazmat.streams import names
from hazmat.streams.admin import ensure_topics

REPO = Path(__file__).resolve().parent.parent
#: partitions of the tests' topics: fewer than a province's default (12) keeps the workers' start quick
TEST_PARTITIONS = 3


@dataclass
class Worker:
    """A ``hazmat worker`` process with its own topic prefix, archive and log."""

    bootstrap: str
    prefix: str
    archive: Path
    log: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "HAZMAT_TOPIC_PREFIX": self.prefix,
            "HAZMAT_ARCHIVE": str(self.archive),
            # each worker its own state folder, as on separate hosts: a replacement restores from the changelog
            "HAZMAT_STATE_DIR": str(self.log.with_suffix(".state")),
            "HAZMAT_PARTITIONS": str(TEST_PARTITIONS),
            **self.extra_env,
        }

    def start(self) -> Worker:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hazmat", "worker"],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=REPO,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        os.killpg(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"


def new_prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}."


def prepare(bootstrap: str, prefix: str) -> None:
    ensure_topics(bootstrap, prefix=prefix, partitions=TEST_PARTITIONS)


class Tap:
    """Reads output topics from the beginning and keeps every message, decoded as JSON."""

    def __init__(self, bootstrap: str, prefix: str, *specs: names.TopicSpec) -> None:
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, isolation_level="read_committed"
        )
        self.names = {spec.name(prefix): spec.base for spec in specs}
        deadline = time.monotonic() + 30
        while True:  # a loaded broker may answer the first metadata request without every topic
            known = {name: self.consumer.partitions_for_topic(name) for name in self.names}
            if all(known.values()) or time.monotonic() > deadline:
                break
            self.consumer.topics()  # asks the broker for fresh metadata
        missing = [name for name, parts in known.items() if not parts]
        assert not missing, f"no partitions for {missing} after 30 s"
        tps = [TopicPartition(name, p) for name, parts in known.items() for p in sorted(parts or ())]
        self.consumer.assign(tps)
        self.consumer.seek_to_beginning(*tps)
        self.messages: dict[str, list[dict[str, Any]]] = {base: [] for base in self.names.values()}
        self.keys: dict[str, list[bytes | None]] = {base: [] for base in self.names.values()}

    def poll(self) -> None:
        for tp, records in self.consumer.poll(timeout_ms=200).items():
            base = self.names[tp.topic]
            for r in records:
                self.messages[base].append(json.loads(r.value))
                self.keys[base].append(r.key)

    def wait_for(self, condition: Callable[[Tap], bool], *, timeout: float = 90, worker: Worker | None = None) -> None:
        """Poll until ``condition(self)`` holds; fail with what arrived (and the worker's log) at the deadline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if condition(self):
                return
            if worker is not None and not worker.alive():
                raise AssertionError(f"worker died:\n{worker.tail()}")
        counts = {k: len(v) for k, v in self.messages.items()}
        log = worker.tail() if worker else ""
        raise AssertionError(f"condition not met within {timeout} s; received {counts}\n{log}")

    def close(self) -> None:
        self.consumer.close()


def wait_until(value: Callable[[], int], at_least: int, *, timeout: float = 30, what: str = "value") -> int:
    """Poll ``value()`` until it reaches ``at_least`` (or the deadline); return the last value read.

    The archive is written once per checkpoint (``HAZMAT_COMMIT_INTERVAL_S``), so under
    at-least-once a verdict may be on its topic shortly before its check-in is archived.
    """
    deadline = time.monotonic() + timeout
    while (got := value()) < at_least and time.monotonic() < deadline:
        time.sleep(0.1)  # polling interval of a condition wait
    assert got >= at_least, f"{what}: {got} after {timeout} s, wanted {at_least}"
    return got


def producer(bootstrap: str) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)


def send_positions(bootstrap: str, prefix: str, pings: list[Any]) -> None:
    """Position events on the positions topic of ``prefix``, keyed by plate, flushed."""
    p = producer(bootstrap)
    for ping in pings:
        p.send(names.POSITIONS.name(prefix), key=ping.plate.encode(), value=ping.model_dump_json().encode())
    p.flush()
    p.close()


def verdict_ids(tap: Tap) -> list[str]:
    return [m["checkin_event_id"] for m in tap.messages["hazmat.verdicts"]]


def checkins_assignment(bootstrap: str, prefix: str) -> list[list[int]]:
    """Partitions of the check-in topic held by each member of the workers' consumer group."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        group = admin.describe_groups([names.group_id(prefix)])[names.group_id(prefix)]
    except KafkaError:  # the group's coordinator is not there until the first member joins
        return []
    finally:
        admin.close()
    if group.get("group_state") != "Stable":
        return []
    topic = names.CHECKINS.name(prefix)
    return [
        sorted(p for a in m["member_assignment"]["assigned_partitions"] if a["topic"] == topic for p in a["partitions"])
        for m in group["members"]
    ]


def wait_for_members(bootstrap: str, prefix: str, n: int, *, timeout: float = 90) -> list[list[int]]:
    """Wait until ``n`` workers are in the group and each holds check-in partitions."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        members = checkins_assignment(bootstrap, prefix)
        if len(members) == n and all(members):
            return members
        time.sleep(0.2)  # polling interval of a condition wait, not a fixed delay
    raise AssertionError(
        f"{n} workers did not share the partitions within {timeout} s: {checkins_assignment(bootstrap, prefix)}"
    )
