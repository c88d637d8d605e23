"""The one faust app. Broker, topic prefix and guarantees come from the environment.

``hazmat worker`` sets ``KAFKA_BOOTSTRAP_SERVERS`` (or finds the local broker) before it
imports this module; ``faust -A hazmat.streams.app worker`` works the same way.
"""

from __future__ import annotations

import os

import faust

from . import names, transport
from .bootstrap import bootstrap_servers, faust_url

app = faust.App(
    names.app_id(),
    broker=faust_url(bootstrap_servers(), scheme=transport.SCHEME),
    store="memory://",
    TableManager="hazmat.streams.recovery:OrderedTableManager",
    processing_guarantee="at_least_once",
    topic_partitions=names.DEFAULT_PARTITIONS,
    consumer_auto_offset_reset="earliest",
    producer_acks=-1,
    producer_linger=0.005,
    producer_max_batch_size=512 * 1024,
    broker_commit_every=1000,
    broker_commit_interval=1.0,
    # a worker that dies (kill -9, lost host) hands its partitions over after 10 s, not 60 s
    broker_session_timeout=10.0,
    broker_heartbeat_interval=2.0,
    web_enabled=bool(os.environ.get("HAZMAT_WORKER_WEB_PORT")),
    web_port=int(os.environ.get("HAZMAT_WORKER_WEB_PORT") or 6066),
    web_bind="127.0.0.1",
)
