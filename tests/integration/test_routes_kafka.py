"""Route requests through the real broker to a worker whose city has a road graph (Chengdu)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from streams import names
from tests.kafka_helpers import Tap, Worker, new_prefix, prepare, producer
from tests.routing_helpers import CHENGDU

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def worker(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    folder = tmp_path_factory.mktemp("route-worker")
    prefix = new_prefix()
    prepare(kafka, prefix)
    w = Worker(
        bootstrap=kafka, prefix=prefix, archive=folder / "archive.sqlite", log=folder / "worker.log",
        extra_env={"HAZMAT_CITY": str(CHENGDU)},
    ).start()  # fmt: skip
    try:
        yield w
    finally:
        w.stop()


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


def test_a_route_request_gets_a_route_and_a_bad_one_a_dead_letter(kafka, worker):
    tap = Tap(kafka, worker.prefix, names.ROUTES, names.DLQ)
    try:
        p = producer(kafka)
        topic = names.ROUTE_REQUESTS.name(worker.prefix)
        p.send(topic, key="川A12345".encode(), value=route_request("rq-1"))
        p.send(topic, key="川A12345".encode(), value=route_request("rq-bad", origin={"lon": 500, "lat": 30.67}))
        p.send(topic, key="川A12345".encode(), value=route_request("rq-far", origin={"lon": 100.0, "lat": 30.0}))
        p.flush()
        p.close()
        tap.wait_for(
            lambda t: len(t.messages["hazmat.routes"]) >= 2 and t.messages["hazmat.dlq"], timeout=120, worker=worker
        )
        routes = {r["request_id"]: r for r in tap.messages["hazmat.routes"]}
        assert routes["rq-1"]["status"] == "ok"
        assert routes["rq-1"]["route_id"] == "rt-rq-1"
        assert routes["rq-1"]["length_m"] > 1000
        assert routes["rq-far"]["status"] == "outside_map"
        [dead] = tap.messages["hazmat.dlq"]
        assert "origin.lon" in dead["error"]
        assert tap.keys["hazmat.routes"][0] == "川A12345".encode()
    finally:
        tap.close()
