"""Which Kafka to talk to: ``KAFKA_BOOTSTRAP_SERVERS`` when set, else the running local broker."""

from __future__ import annotations

import os

from hazmat import broker


class NoBrokerError(ConnectionError):
    pass


def bootstrap_servers() -> str:
    """``host:port[,host:port]`` of the cluster; raise with the fix when there is none."""
    if env := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return env
    info = broker.status()
    if info is None:
        msg = "no Kafka: set KAFKA_BOOTSTRAP_SERVERS, or start the local broker with `hazmat broker start`"
        raise NoBrokerError(msg)
    return info.bootstrap
