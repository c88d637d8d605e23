"""Quix Streams' stateful no-op: per message, one RocksDB state write (changelog-backed) keyed by
the message key, and one output for every tenth message (the ping flow's alert rate).

    KAFKA_BOOTSTRAP_SERVERS=… HAZMAT_TOPIC_PREFIX=… python benchmarks/engines/noop_quix.py [--guarantee exactly-once]
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from quixstreams import Application, State, message_context

from hazmat.streams import names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guarantee", choices=["at-least-once", "exactly-once"], default="at-least-once")
    parser.add_argument("--commit-interval", type=float, default=1.0)
    args = parser.parse_args()
    app = Application(
        broker_address=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        consumer_group=f"{names.app_id()}-noop-quix",
        auto_offset_reset="earliest",
        processing_guarantee=args.guarantee,
        commit_interval=args.commit_interval,
        producer_extra_config={"partitioner": "murmur2_random", "linger.ms": 5},
        loglevel="WARNING",
    )
    raw = {"value_deserializer": "bytes", "key_deserializer": "bytes", "value_serializer": "bytes"}
    source = app.topic(names.POSITIONS.name(), **raw)
    target = app.topic(names.ALERTS.name(), **raw)

    def count(value: bytes, key: Any, timestamp: int, headers: Any, state: State) -> bytes | None:
        state.set("n", state.get("n", 0) + 1)
        return value if message_context().offset % 10 == 0 else None

    sdf = app.dataframe(source).apply(count, stateful=True, metadata=True)
    sdf.filter(lambda v: v is not None).to_topic(target)
    app.run()


if __name__ == "__main__":
    main()
