"""faust's stateful no-op, tuned like the worker: per message, one changelog-backed table write keyed
by the message key, and one output for every tenth message (the ping flow's alert rate).

    KAFKA_BOOTSTRAP_SERVERS=… HAZMAT_TOPIC_PREFIX=… python benchmarks/engines/noop_faust.py
"""

from __future__ import annotations

import json
import os
from typing import Any

from hazmat.streams import names


def main() -> None:
    overrides: dict[str, Any] = json.loads(os.environ.get("HAZMAT_BENCH_FAUST") or "{}")
    overrides.pop("loglevel", None)
    if overrides.pop("uvloop", False):
        import uvloop

        uvloop.install()
    import faust
    from faust.worker import Worker

    from hazmat.streams.bootstrap import bootstrap_servers, faust_url

    settings = {
        "store": "memory://",
        "topic_partitions": names.DEFAULT_PARTITIONS,
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        "producer_linger": 0.005,
        "broker_commit_every": 1000,
        "broker_commit_interval": 1.0,
        **overrides,
    }
    app = faust.App(f"{names.app_id()}-noop", broker=faust_url(bootstrap_servers()), **settings)
    raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    source = app.topic(names.POSITIONS.name(), partitions=names.DEFAULT_PARTITIONS, **raw)
    target = names.ALERTS.name()
    counts = app.Table("noop-counts", default=int, partitions=names.DEFAULT_PARTITIONS, key_type=bytes)

    @app.agent(source)
    async def noop(stream: Any) -> None:
        async for event in stream.events():
            counts[event.key] += 1
            if event.message.offset % 10 == 0:
                await app.producer.send(target, event.key, event.value, partition=None, timestamp=None, headers=None)

    Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
