"""Producing an agent's alerts: one message each on the alerts topic, one structured log line each."""

from __future__ import annotations

import logging

from hazmat.events import Alert

from .. import handlers, topics

log = logging.getLogger("hazmat.streams.alerts")


async def send_alerts(alerts: list[Alert]) -> None:
    for alert in alerts:
        await topics.send(handlers.alert_out(alert))
        log.info(
            "alert",
            extra={
                "plate": alert.plate,
                "kind": alert.kind,
                "state": alert.state,
                "alert_id": alert.alert_id,
                "event_id": alert.source_event_id,
            },
        )
