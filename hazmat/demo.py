"""``hazmat demo``: the main job end to end on the embedded default.

Starts the local Kafka broker and a worker, posts a morning of check-ins at a loading site
(plus one broken message, to show the dead-letter path), and prints verdicts, alerts and
dead letters live as they come back from Kafka. Stops what it started, also on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from hazmat import broker
from hazmat.alerts import verdict_alerts
from hazmat.checking import judge
from hazmat.cityconfig import City

DEMO_TIMEOUT_S = 180.0
BROKEN_MESSAGE = b'{"schema_version": 1, "event_id": "dt-broken", "vehicle": {"plate": "XX"}'


def _samples(city: City) -> list[str]:
    folder = city.folder / "samples"
    path = folder / "morning-checkins.jsonl"
    if not path.is_file():
        path = Path(__file__).resolve().parent.parent / "config" / "cities" / "datong" / "samples" / path.name
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_demo(city: City, *, out: Console, err: Console, keep_broker: bool = False) -> int:
    """Run the demo; return the exit code (0 when every expected message arrived)."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from streams import names
    from streams.admin import ensure_topics

    lines = _samples(city)
    settings = city.rule_settings()
    expected_verdicts: dict[str, str] = {}
    expected_alerts = 1  # the broken message's invalid_event alert
    for n, raw in enumerate(lines, start=1):
        outcome = judge(n, raw, settings)
        if outcome.verdict is not None and outcome.checkin is not None:
            expected_verdicts[outcome.verdict.checkin_event_id] = outcome.verdict.verdict
            expected_alerts += len(verdict_alerts(outcome.checkin, outcome.verdict))

    was_running = broker.status() is not None
    worker: subprocess.Popen[bytes] | None = None
    consumer: KafkaConsumer | None = None
    started_broker = False
    try:
        err.print(
            "[bold]hazmat-checker demo[/] — a morning at a loading site in " + f"{city.city.name} ({city.city.name_en})"
        )
        info = broker.start(progress=lambda line: err.print(line, markup=False))
        started_broker = not was_running
        err.print(f"Kafka broker at {info.bootstrap}{' (already running)' if was_running else ''}")
        ensure_topics(info.bootstrap)
        log_path = broker.cache_root() / "demo-worker.log"
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": info.bootstrap, "HAZMAT_CITY": str(city.folder)}
        with log_path.open("ab") as log_file:
            worker = subprocess.Popen(
                [sys.executable, "-m", "hazmat", "worker"],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        err.print(f"worker started (pid {worker.pid}, log {log_path})")

        consumer = KafkaConsumer(bootstrap_servers=info.bootstrap, group_id=None, enable_auto_commit=False)
        tps = [
            TopicPartition(spec.name(), p)
            for spec in (names.VERDICTS, names.ALERTS, names.DLQ)
            for p in sorted(consumer.partitions_for_topic(spec.name()) or ())
        ]
        consumer.assign(tps)
        consumer.seek_to_end(*tps)
        for tp in tps:
            consumer.position(tp)  # resolve "end" now, before anything is produced

        producer = KafkaProducer(bootstrap_servers=info.bootstrap, acks="all", linger_ms=5)
        for raw in lines:
            plate = json.loads(raw)["vehicle"]["plate"]
            producer.send(names.CHECKINS.name(), key=plate.encode(), value=raw.encode())
        producer.send(names.CHECKINS.name(), key=b"XX", value=BROKEN_MESSAGE)
        producer.flush()
        producer.close()
        err.print(
            f"posted {len(lines)} check-ins and 1 broken message to {names.CHECKINS.name()}; waiting for the worker…\n"
        )

        seen_verdicts: set[str] = set()
        seen_alerts: set[str] = set()
        dead = 0
        redelivered = 0  # at-least-once: a verdict or alert may arrive twice, with the same id
        deadline = time.monotonic() + DEMO_TIMEOUT_S
        while time.monotonic() < deadline:
            if worker.poll() is not None:
                err.print(f"[red]the worker exited with code {worker.returncode}; see {log_path}[/]")
                return 1
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    value: dict[str, Any] = json.loads(record.value)
                    if tp.topic == names.VERDICTS.name() and value["checkin_event_id"] in expected_verdicts:
                        if value["checkin_event_id"] in seen_verdicts:
                            redelivered += 1
                            continue
                        seen_verdicts.add(value["checkin_event_id"])
                        _print_verdict(out, value)
                    elif tp.topic == names.ALERTS.name():
                        if value["alert_id"] in seen_alerts:
                            redelivered += 1
                            continue
                        seen_alerts.add(value["alert_id"])
                        _print_alert(out, value)
                    elif tp.topic == names.DLQ.name():
                        dead += 1
                        out.print(
                            f"[magenta]DEAD LETTER[/] {value['topic']}[{value['partition']}]@{value['offset']}: {value['error']}",
                            markup=True,
                        )
            if len(seen_verdicts) == len(expected_verdicts) and len(seen_alerts) >= expected_alerts and dead >= 1:
                break
        else:
            err.print(
                f"[red]timed out after {DEMO_TIMEOUT_S:.0f} s: {len(seen_verdicts)}/{len(expected_verdicts)} verdicts[/]"
            )
            return 1
        loads = sum(1 for v in expected_verdicts.values() if v == "load")
        err.print(
            f"\n{len(seen_verdicts)} verdicts ({loads} load, {len(seen_verdicts) - loads} refuse), "
            f"{len(seen_alerts)} alerts, {dead} dead letter(s), {redelivered} redelivered copies ignored; "
            f"archive: {city.archive_path()}"
        )
        return 0
    except KeyboardInterrupt:
        err.print("\ninterrupted; stopping")
        return 130
    except broker.BrokerError as exc:
        err.print(f"[red]broker:[/] {exc}")
        return 1
    finally:
        if consumer is not None:
            consumer.close()
        _stop(worker)
        if started_broker and not keep_broker:
            broker.stop()
            err.print("worker and broker stopped")


def _print_verdict(out: Console, v: dict[str, Any]) -> None:
    colour, word = ("green", "LOAD   准予装货") if v["verdict"] == "load" else ("bold red", "REFUSE 不予装货")
    rules = ", ".join(f"{f['rule_id']}" + ("" if f["severity"] == "refuse" else "(warn)") for f in v["findings"])
    out.print(f"[{colour}]{word}[/] {v['plate']}  {v['checkin_event_id']}  {rules}")
    for f in v["findings"]:
        out.print(f"         {f['rule_id']} {f['message_zh']} / {f['message_en']}", markup=False, style="dim")


def _print_alert(out: Console, a: dict[str, Any]) -> None:
    colour = {"high": "bold red", "medium": "yellow", "low": "cyan"}[a["severity"]]
    out.print(f"[{colour}]ALERT  {a['kind']}[/] {a.get('plate') or '—'}  {a['message_zh']}", highlight=False)
