"""Route requests through the real broker to a worker whose city has a road graph (Chengdu)."""

from __future__ import annotations

import json

import pytest

from hazmat.streams import names
from tests.kafka_helpers import Tap, producer

pytestmark = pytest.mark.kafka


def route_request(request_id: str, **extra) -> bytes:
    body = {
        "schema_version": 1,
        "request_id": request_id,
        "plate": "川A12345",
        "load": [{"un_number": "UN1203", "hazard_class": "3", "quantity_kg": 20000}],
        "origin": {"lon": 104.06, "lat": 30.67},
        "destination": {"lon": 104.11, "lat": 30.71},
        "depart_at": "2026-11-26T10:00:00+08:00",
        **extra,
    }
    return json.dumps(body, ensure_ascii=False).encode()


def test_a_route_request_gets_a_route_and_a_bad_one_a_dead_letter(kafka, chengdu_worker):
    worker = chengdu_worker  # shared with the monitoring tests: only this test's request ids count
    ours = {"rq-1", "rq-far"}
    tap = Tap(kafka, worker.prefix, names.ROUTES, names.DLQ)
    try:
        p = producer(kafka)
        topic = names.ROUTE_REQUESTS.name(worker.prefix)
        p.send(topic, key="川A12345".encode(), value=route_request("rq-1"))
        p.send(topic, key="川A12345".encode(), value=route_request("rq-bad", origin={"lon": 500, "lat": 30.67}))
        p.send(topic, key="川A12345".encode(), value=route_request("rq-far", origin={"lon": 100.0, "lat": 30.0}))
        p.flush()
        p.close()

        def mine(t: Tap) -> list[dict]:
            return [r for r in t.messages["hazmat.routes"] if r["request_id"] in ours]

        def bad(t: Tap) -> list[dict]:
            return [d for d in t.messages["hazmat.dlq"] if "rq-bad" in d.get("raw", "")]

        tap.wait_for(lambda t: len(mine(t)) == 2 and bad(t), timeout=120, worker=worker)
        routes = {r["request_id"]: r for r in mine(tap)}
        assert routes["rq-1"]["status"] == "ok"
        assert routes["rq-1"]["route_id"] == "rt-rq-1"
        assert routes["rq-1"]["length_m"] > 1000
        assert routes["rq-far"]["status"] == "outside_map"
        [dead] = bad(tap)
        assert "origin.lon" in dead["error"]
        keys = [
            k for k, r in zip(tap.keys["hazmat.routes"], tap.messages["hazmat.routes"], strict=True) if r in mine(tap)
        ]
        assert keys == ["川A12345".encode()] * 2
    finally:
        tap.close()
