"""Topic administration with kafka-python: create the spec's topics, keyed by plate."""

from __future__ import annotations

import logging
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from . import names, settings

log = logging.getLogger("hazmat.streams.admin")


def ensure_topics(
    bootstrap: str, *, prefix: str | None = None, partitions: int | None = None, timeout_s: float = 60.0
) -> list[str]:
    """Create every topic of the spec that does not exist yet; return the names created.

    ``partitions``: default ``HAZMAT_PARTITIONS`` (:mod:`hazmat.streams.settings`, 12); topics that
    exist keep theirs.

    Retries until ``timeout_s`` while the broker is still coming up.
    """
    wanted = {spec.name(prefix): spec for spec in names.ALL}
    if partitions is None:
        partitions = settings.from_env().partitions
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="hazmat-admin", request_timeout_ms=15000)
            break
        except (KafkaError, OSError) as exc:
            if time.monotonic() > deadline:
                msg = f"cannot reach Kafka at {bootstrap}: {exc}; start it with `hazmat broker start`"
                raise ConnectionError(msg) from exc
            time.sleep(0.5)
    try:
        missing = sorted(set(wanted) - set(admin.list_topics()))
        created: list[str] = []
        for name in missing:
            spec = wanted[name]
            try:
                admin.create_topics(
                    [NewTopic(name, num_partitions=partitions, replication_factor=1, topic_configs=spec.config)]
                )
                created.append(name)
            except TopicAlreadyExistsError:
                pass
        if created:
            log.info("topics created", extra={"topics": created, "partitions": partitions})
        return created
    finally:
        admin.close()
