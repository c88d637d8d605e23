"""Run the stream processors: ``hazmat worker`` calls :func:`run` after checking config and broker.

Start-up order: the city (a bad configuration stops the start), the followers of the
compacted topics (blacklist, passes) until they have caught up, the router and geofence,
then the stream; the overdue timer runs beside it. SIGTERM / SIGINT stop it cleanly (the
last checkpoint commits); SIGKILL loses nothing committed: another worker, or this one
restarted, takes the partitions, restores the plates' state from the changelog and reads
on from the committed offsets.
"""

from __future__ import annotations

import logging
import logging.config
import os
import sys
import time
import warnings
from typing import Any, NoReturn

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "hazmat.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        "quixstreams": {"level": os.environ.get("HAZMAT_QUIX_LOGLEVEL", "WARNING").upper()},
        "aiokafka": {"level": "WARNING"},
        "kafka": {"level": "WARNING"},
    },
}

#: how long the worker waits for the followers to catch up before it gives up starting
FOLLOWERS_TIMEOUT_S = 120.0
#: the longest wait before the stream starts again after Kafka stopped it
RESTART_MAX_S = 30.0


def run() -> NoReturn:
    # authlib (imported by quixstreams for its cloud client, unused here) warns about its httpx integration
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from . import names, resources
    from .agents import ahead, blacklist, flows, passes
    from .app import build
    from .bootstrap import bootstrap_servers
    from .settings import from_env

    logging.config.dictConfig(LOGGING)
    log = logging.getLogger("hazmat.streams")

    settings = from_env()
    resources.city()
    followers = [blacklist.follower(), passes.follower(settings.prepare_horizon_s)]
    for f in followers:
        f.start()
    app = build(bootstrap_servers(), settings)  # loads the router and the geofence meanwhile
    deadline = time.monotonic() + FOLLOWERS_TIMEOUT_S
    for f in followers:
        if not f.ready.wait(max(0.0, deadline - time.monotonic())):
            log.error("follower not caught up; not starting", extra={"topic": f.topic})
            sys.exit(1)
    timer = flows.OverdueTimer(settings.overdue_check_s)
    timer.start()
    looking_ahead = ahead.AheadTimer(settings.prepare_every_s, settings.prepare_horizon_s)
    looking_ahead.start()
    log.info(
        "worker started",
        extra={
            "group": names.group_id(),
            "broker": bootstrap_servers(),
            "guarantee": settings.processing_guarantee,
            "state_dir": settings.state_path(),
        },
    )
    try:
        run_until_stopped(app, lambda: build(bootstrap_servers(), settings), log)
    finally:
        for stopping in (timer, looking_ahead, *followers):
            stopping.stopping.set()
    sys.exit(0)


def run_until_stopped(app: Any, rebuild: Any, log: logging.Logger, *, first_delay_s: float = 1.0) -> None:
    """Run the stream until it is stopped (SIGTERM, SIGINT); when Kafka fails it, start it again.

    A broker that restarts forgets the group's members: the next commit fails ("Unknown
    member") and Quix stops the application. Nothing is lost by starting again: the failed
    checkpoint's offsets were not committed, its state not written (its changelog records are
    skipped on recovery), so its messages are handled again (at-least-once, idempotent by id).
    """
    from confluent_kafka import KafkaException
    from quixstreams.checkpointing.exceptions import CheckpointConsumerCommitError, CheckpointProducerTimeout
    from quixstreams.kafka.exceptions import KafkaConsumerException, KafkaProducerDeliveryError

    delay = first_delay_s
    while True:
        started = time.monotonic()
        try:
            app.run()
            return
        except (
            KafkaConsumerException,
            KafkaProducerDeliveryError,  # a message not delivered while the broker was away: nothing committed
            CheckpointConsumerCommitError,
            CheckpointProducerTimeout,
            KafkaException,
        ) as exc:
            if time.monotonic() - started > RESTART_MAX_S:
                delay = first_delay_s  # it ran a while: a new failure, not the same one again
            log.warning("stream stopped by Kafka; starting it again", extra={"error": str(exc), "retry_in_s": delay})
            time.sleep(delay)  # back-off before the next attempt, not a wait for a condition
            delay = min(delay * 2, RESTART_MAX_S)
            app = rebuild()
