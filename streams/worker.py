"""Run the stream processors: ``hazmat worker`` calls :func:`run` after checking config and broker."""

from __future__ import annotations

import logging
import os
from typing import Any, NoReturn

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "hazmat.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        **{  # faust's services, ours among them (streams/recovery.py, streams/transport.py)
            name: {"level": os.environ.get("HAZMAT_FAUST_LOGLEVEL", "WARNING").upper()}
            for name in ("faust", "hazmat.streams.recovery", "hazmat.streams.transport")
        },
        "mode": {"level": "WARNING"},
        "aiokafka": {"level": "WARNING"},
        "kafka": {"level": "WARNING"},
    },
}


def run(*, loglevel: str = "info") -> NoReturn:
    from faust.worker import Worker

    from . import resources
    from .agents import blacklist, checkins, flows, passes, positions, routes  # noqa: F401  (registers the agents)
    from .app import app
    from .bootstrap import bootstrap_servers

    resources.city()
    log = logging.getLogger("hazmat.streams")

    @app.task
    async def _announce() -> None:
        log.info("worker started", extra={"app_id": app.conf.id, "broker": bootstrap_servers()})

    Worker(app, loglevel=loglevel, quiet=True, logging_config=LOGGING).execute_from_commandline()
