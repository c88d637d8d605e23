"""The API's read-back from the real broker: what a feed started now knows of what came before."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from hazmat.api.feed import Feed
from hazmat.events import Alert, LineString, Position, Route
from hazmat.streams import names
from tests.kafka_helpers import new_prefix, prepare, producer

pytestmark = pytest.mark.kafka


def _produce(kafka: str, messages: list[tuple[names.TopicSpec, str, bytes]]) -> None:
    p = producer(kafka)
    for spec, key, value in messages:
        p.send(spec.name(), key=key.encode(), value=value)
    p.flush()
    p.close()


def _alert(alert_id: str, plate: str) -> bytes:
    alert = Alert(alert_id=alert_id, kind="speeding", severity="medium", plate=plate, at=datetime.now(UTC),
                  message_zh="超速", message_en="speeding")  # fmt: skip
    return alert.model_dump_json().encode()


async def _until(condition, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the feed did not read it in time"
        await asyncio.sleep(0.05)  # polling the feed's state, bounded by the deadline


def test_a_feed_started_now_has_the_routes_issued_before_it_but_only_new_alerts_and_positions(kafka, monkeypatch):
    prefix = new_prefix()
    prepare(kafka, prefix)
    monkeypatch.setenv("HAZMAT_TOPIC_PREFIX", prefix)
    plate = "川A55555"
    route = Route(route_id="rt-feed-1", request_id="feed-1", plate=plate, status="ok", length_m=1000.0,
                  geometry=LineString(coordinates=[(104.0, 30.0), (104.01, 30.01)]))  # fmt: skip
    refused = Route(route_id="rt-feed-2", request_id="feed-2", plate=plate, status="no_permitted_route")
    before = Position(schema_version=1, event_id="feed-p-1", plate=plate, at=datetime.now(UTC), lon=104.0, lat=30.0,
                      speed_kmh=30)  # fmt: skip
    _produce(kafka, [
        (names.ROUTES, plate, route.model_dump_json().encode()),
        (names.ROUTES, plate, refused.model_dump_json().encode()),
        (names.ALERTS, plate, _alert("feed-old", plate)),
        (names.POSITIONS, plate, before.model_dump_json().encode()),
    ])  # fmt: skip

    async def run() -> None:
        feed = Feed(kafka)
        await feed.start()
        try:
            await asyncio.wait_for(feed.ready.wait(), 30)
            await _until(lambda: "feed-2" in feed.routes)
            assert feed.routes_by_plate[plate]["route_id"] == "rt-feed-1"  # the last permitted one
            _produce(kafka, [(names.ALERTS, plate, _alert("feed-new", plate))])
            await _until(lambda: any(a["alert_id"] == "feed-new" for a in feed.alerts))
            assert [a["alert_id"] for a in feed.alerts] == ["feed-new"]  # history stays in the archive
            assert plate not in feed.fleet.vehicles
            assert feed.fleet.conditions[plate][("speeding", None)]["alert_id"] == "feed-new"
        finally:
            await feed.stop()

    asyncio.run(run())
