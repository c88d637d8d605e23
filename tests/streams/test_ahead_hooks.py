"""The worker's hooks for customising ahead of need (issue #18): the timer and the passes follower ask the router.

On the Chengdu router put in the worker's resources (no Kafka needed: the timer's tick and the
follower's handling of one message are called as the threads call them).
"""

from __future__ import annotations

import json
from datetime import datetime

from hazmat.events import Pass
from hazmat.streams import handlers, resources
from hazmat.streams.agents.ahead import AheadTimer
from hazmat.streams.agents.passes import RuntimePasses, applied
from tests.routing.test_ahead import AFTER, BEFORE, PREPARED_AT, _scene
from tests.routing.test_passes import PLATE, a_pass
from tests.routing.test_router import node_lonlat
from tests.routing_helpers import box_zone, request


def test_the_timer_prepares_the_next_window_state_of_the_worker_router(router, with_zones, monkeypatch):
    r, across, other, _day = _scene(router, with_zones)
    monkeypatch.setattr(resources, "_router", None)
    assert AheadTimer(30, 300).tick(datetime.fromisoformat(PREPARED_AT)) == 0  # no router loaded yet: nothing
    r.metrics.clear()
    r.plan(request(*across, at=BEFORE))
    monkeypatch.setattr(resources, "_router", r)
    assert AheadTimer(30, 300).tick(datetime.fromisoformat(PREPARED_AT)) == 1
    assert r.metrics.settle(60)
    before = dict(r.metrics.counts)
    assert [a.zone_id for a in r.plan(request(*other, at=AFTER)).avoided] == ["rs-day"]
    assert r.metrics.counts == before


def test_a_pass_arriving_on_the_topic_is_prepared_for_its_plate_once_the_follower_caught_up(
    router, with_zones, monkeypatch
):
    origin, destination = node_lonlat(router, 10), node_lonlat(router, 1500)
    coords = with_zones().plan(request(origin, destination)).geometry.coordinates
    features = [
        box_zone("rs-mid", coords[len(coords) // 2], 0.002),
        box_zone("rs-far", node_lonlat(router, 523), 0.002),
    ]
    r = with_zones(*features)
    r.metrics.clear()
    r.plan(request(origin, destination, plate=PLATE))  # the plate's class in use
    monkeypatch.setattr(resources, "_router", r)
    runtime = RuntimePasses()
    granted = a_pass("P-far", ["rs-far"])
    raw = json.dumps(granted.model_dump(mode="json"), ensure_ascii=False).encode()
    source = handlers.Source(topic="hazmat.passes", partition=0, offset=1, key=b"P-far")
    now = datetime.fromisoformat("2026-11-26T09:00:00+08:00")
    prepared = r.metrics.ahead["prepared"]
    assert applied(runtime, raw, source, now, features) == []  # catching up: put, not prepared
    assert r.metrics.settle(60)
    assert r.metrics.ahead["prepared"] == prepared
    assert [p.pass_id for p in runtime.book.for_plate(PLATE)] == ["P-far"]
    runtime.ready.set()
    assert applied(runtime, raw, source, now, features) == []
    assert r.metrics.settle(60)
    assert r.metrics.ahead["prepared"] == prepared + 1
    before = dict(r.metrics.counts)
    found = r.plan(request(origin, destination, plate=PLATE), passes=runtime.book.for_plate(PLATE))
    assert [a.zone_id for a in found.avoided] == ["rs-mid"]
    assert r.metrics.counts == before
    assert isinstance(runtime.book.get("P-far"), Pass)
