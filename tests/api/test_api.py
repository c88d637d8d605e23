"""The HTTP API as its users call it: a real ``hazmat serve`` and a real worker on the real broker."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading

import httpx
import pytest

from tests.api.conftest import DISPATCH, OTHER_SITE, POLICE, SITE
from tests.helpers import changed
from tests.kafka_helpers import send_positions

pytestmark = pytest.mark.kafka


def post(base: str, path: str, key: str | None, body: object) -> httpx.Response:
    headers = {"X-API-Key": key} if key else {}
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return httpx.post(
        f"{base}{path}", content=data, headers={**headers, "Content-Type": "application/json"}, timeout=30
    )


def get(base: str, path: str, key: str) -> httpx.Response:
    return httpx.get(f"{base}{path}", headers={"X-API-Key": key}, timeout=40)


def test_health_and_openapi(server):
    assert httpx.get(f"{server}/healthz").json()["status"] == "ok"
    paths = httpx.get(f"{server}/openapi.json").json()["paths"]
    assert {
        "/v1/checkins",
        "/v1/verdicts/{event_id}",
        "/v1/route-requests",
        "/v1/routes/{request_id}",
        "/v1/alerts",
        "/v1/alerts/stream",
        "/v1/archive",
        "/v1/flows",
        "/v1/passes",
        "/v1/passes/{pass_id}",
        "/v1/roads",
        "/v1/positions",
        "/v1/positions/stream",
        "/v1/vehicles/{plate}",
        "/v1/zones/derived",
        "/healthz",
    } <= set(paths)


@pytest.mark.parametrize(
    ("key", "status"), [(None, 401), ("wrong", 401), (DISPATCH, 403), (POLICE, 403), (OTHER_SITE, 403)]
)
def test_checkin_auth(server, key, status):
    assert post(server, "/v1/checkins", key, changed(event_id="api-auth")).status_code == status


def test_a_key_in_the_url_is_taken_by_the_event_stream_only(server):
    assert httpx.get(f"{server}/v1/alerts?key={POLICE}").status_code == 401
    assert httpx.get(f"{server}/v1/alerts", headers={"X-API-Key": POLICE}).status_code == 200
    with httpx.stream("GET", f"{server}/v1/alerts/stream?key={POLICE}", timeout=30) as stream:
        assert stream.status_code == 200


def test_a_checkin_over_http_gets_its_verdict_over_http(server):
    response = post(server, "/v1/checkins", SITE, changed(event_id="api-load"))
    assert response.status_code == 202, response.text
    assert response.json()["event_id"] == "api-load"
    verdict = get(server, "/v1/verdicts/api-load?wait=30", SITE)
    assert verdict.status_code == 200, verdict.text
    assert verdict.json()["verdict"] == "load"
    assert get(server, "/v1/verdicts/api-load", POLICE).status_code == 200
    assert get(server, "/v1/verdicts/api-load", OTHER_SITE).status_code == 403
    assert get(server, "/v1/verdicts/api-load", DISPATCH).status_code == 403
    assert get(server, "/v1/verdicts/no-such-event", SITE).status_code == 404


def test_an_invalid_body_gets_field_errors_and_is_not_produced(server):
    response = post(server, "/v1/checkins", SITE, changed(event_id="api-bad", vehicle__plate="XX"))
    assert response.status_code == 422
    assert {"loc": ["vehicle", "plate"], "msg": response.json()["detail"][0]["msg"]} == response.json()["detail"][0]
    assert post(server, "/v1/checkins", SITE, b"{not json").status_code == 422
    assert post(server, "/v1/checkins", SITE, changed(event_id="api-after-bad")).status_code == 202
    assert get(server, "/v1/verdicts/api-after-bad?wait=30", SITE).status_code == 200
    assert get(server, "/v1/verdicts/api-bad", POLICE).status_code == 404  # never judged: never produced


def test_a_body_over_the_limit_is_refused(server):
    assert post(server, "/v1/checkins", SITE, b"{" + b" " * 70_000 + b"}").status_code == 413


def test_a_route_request_over_http(server):
    body = {
        "schema_version": 1, "request_id": "api-rq-1", "plate": "川A12345",
        "load": [{"un_number": "UN1203", "hazard_class": "3", "quantity_kg": 20000}],
        "origin": {"lon": 104.06, "lat": 30.67}, "destination": {"lon": 104.11, "lat": 30.71},
        "depart_at": "2026-11-26T10:00:00+08:00",
    }  # fmt: skip
    assert post(server, "/v1/route-requests", SITE, body).status_code == 403
    assert post(server, "/v1/route-requests", DISPATCH, body).status_code == 202
    route = get(server, "/v1/routes/api-rq-1?wait=30", DISPATCH)
    assert route.status_code == 200, route.text
    assert route.json()["status"] == "ok"


def test_a_refusal_reaches_the_alert_stream_and_the_alert_query(server):
    received: list[dict] = []
    connected = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{server}/v1/alerts/stream?key={POLICE}", timeout=60) as stream:
            for line in stream.iter_lines():
                if line.startswith(": connected"):
                    connected.set()
                if line.startswith("data: "):
                    alert = json.loads(line[6:])
                    received.append(alert)
                    if alert.get("source_event_id") == "api-refuse":
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert connected.wait(30)
    assert (
        post(
            server, "/v1/checkins", SITE, changed(event_id="api-refuse", tank__inspection_valid_until="2026-10-01")
        ).status_code
        == 202
    )
    thread.join(60)
    assert any(a["alert_id"] == "a-api-refuse-checkin_refused" for a in received)
    alerts = get(server, "/v1/alerts?plate=晋B12345&kind=checkin_refused", POLICE).json()
    assert any(a["source_event_id"] == "api-refuse" for a in alerts)
    assert get(server, "/v1/alerts", SITE).status_code == 403


def test_archive_query_is_scoped_to_the_site(server):
    assert post(server, "/v1/checkins", SITE, changed(event_id="api-arch")).status_code == 202
    assert get(server, "/v1/verdicts/api-arch?wait=30", SITE).status_code == 200
    mine = get(server, "/v1/archive?plate=晋B12345", SITE).json()
    assert any(r["event_id"] == "api-arch" for r in mine)
    assert get(server, "/v1/archive?site=DT-LS-002", SITE).status_code == 403
    assert get(server, "/v1/archive?since=2026-11-26T00:00:00", POLICE).status_code == 422


def test_the_page_and_its_vendored_leaflet_are_served(server):
    page = httpx.get(f"{server}/").text
    assert '<script src="/static/leaflet/leaflet.js">' in page
    script = httpx.get(f"{server}/static/opsmap.js")
    assert script.status_code == 200
    assert "EventSource" in script.text
    assert "© OpenStreetMap contributors" in script.text
    leaflet = httpx.get(f"{server}/static/leaflet/leaflet.js")
    assert leaflet.status_code == 200
    assert "Leaflet 1.9.4" in leaflet.text[:200]
    assert "BSD 2-Clause" in httpx.get(f"{server}/static/leaflet/LICENSE").text
    assert httpx.get(f"{server}/static/leaflet/images/marker-icon.png").headers["content-type"] == "image/png"
    zones = httpx.get(f"{server}/v1/zones").json()
    assert zones["type"] == "FeatureCollection"
    assert zones["city"]["timezone"] == "Asia/Shanghai"
    assert zones["kinds"]["water_source"]["colour"].startswith("#")
    assert {type(f["properties"]["active"]) for f in zones["features"]} == {bool}
    derived = httpx.get(f"{server}/v1/zones/derived", timeout=120).json()["features"]
    reservoir = next(f for f in derived if f["properties"]["id"] == "osm-way-227338532")  # routes and alerts name it
    assert (reservoir["properties"]["kind"], reservoir["properties"]["active"]) == ("water_source", True)


def test_roads_are_the_city_graph_as_major_and_minor_polylines(server):
    roads = httpx.get(f"{server}/v1/roads", timeout=120).json()
    assert set(roads) == {"major", "minor"}
    assert len(roads["major"]) > 100
    assert len(roads["minor"]) > 1000
    points = [p for line in roads["major"] + roads["minor"] for p in line]
    assert all(103.9 < lon < 104.3 and 30.5 < lat < 30.9 for lon, lat in points)  # central Chengdu


def test_a_tile_url_in_the_city_config_reaches_the_page(tmp_path):
    from hazmat.api.app import create_app
    from hazmat.cityconfig import load_city
    from tests.routing_helpers import CHENGDU

    city_dir = tmp_path / "chengdu"
    shutil.copytree(CHENGDU, city_dir)
    (city_dir / "city.yaml").write_text(
        (CHENGDU / "city.yaml").read_text(encoding="utf-8").replace("../../osm/", f"{CHENGDU.parent.parent}/osm/")
        + "map_tiles_url: https://tiles.example.org/{z}/{x}/{y}.png\nmap_tiles_attribution: © example\n",
        encoding="utf-8",
    )
    app = create_app(load_city(str(city_dir)), "127.0.0.1:1")

    async def zones() -> dict:
        # ASGI transport without the lifespan: no Kafka needed to read the zones
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hazmat") as client:
            return (await client.get("/v1/zones")).json()

    tiles = asyncio.run(zones())["city"]["tiles"]
    assert tiles == {"url": "https://tiles.example.org/{z}/{x}/{y}.png", "attribution": "© example"}


def test_police_see_the_high_hazard_flow_a_passed_load_opened(server):
    plate = "晋B54321"
    body = changed(event_id="api-flow", vehicle__plate=plate, documents__waybill__plate=plate)
    assert post(server, "/v1/checkins", SITE, body).status_code == 202
    assert get(server, "/v1/verdicts/api-flow?wait=30", SITE).json()["verdict"] == "load"
    [flow] = get(server, f"/v1/flows?plate={plate}", POLICE).json()
    assert (flow["flow_id"], flow["un_number"], flow["quantity_kg"]) == ("f-api-flow-UN1005", "UN1005", 24000)
    assert (flow["consignee"], flow["closed_at"]) == ("某冷库有限公司", None)
    assert get(server, f"/v1/flows?plate={plate}&older_than_h=87600", POLICE).json() == []
    assert get(server, "/v1/flows", SITE).status_code == 403


def _route_into_the_corner(server: str, plate: str, request_id: str) -> dict:
    body = {
        "schema_version": 1, "request_id": request_id, "plate": plate,
        "load": [{"un_number": "UN1005", "hazard_class": "2.3", "quantity_kg": 1000}],
        "origin": {"lon": 104.06, "lat": 30.67}, "destination": {"lon": 104.125, "lat": 30.7245},
        "depart_at": "2026-11-26T10:00:00+08:00",
    }  # fmt: skip
    assert post(server, "/v1/route-requests", DISPATCH, body).status_code == 202
    route = get(server, f"/v1/routes/{request_id}?wait=30", DISPATCH)
    assert route.status_code == 200, route.text
    return route.json()


def _until(server: str, plate: str, done, timeout: float = 60) -> dict:
    """Ask for routes until one shows the worker applied the pass message (it follows the topic on its own)."""
    import time

    deadline = time.monotonic() + timeout
    for n in range(10_000):
        route = _route_into_the_corner(server, plate, f"api-pass-{plate[2:]}-{n}")
        if done(route):
            return route
        assert time.monotonic() < deadline, route
    raise AssertionError("unreachable")


def test_police_issue_and_revoke_a_pass_over_http(server):
    plate = "川A40001"
    granted = {
        "schema_version": 1, "pass_id": "API-P-1", "plate": plate, "zone_ids": ["rs-test-corner"],
        "valid_from": "2026-11-26T08:00:00+08:00", "valid_until": "2026-11-26T18:00:00+08:00",
        "route": None, "issued_by": "成都市公安局交通管理局", "reason": "医院液氧配送",
    }  # fmt: skip
    assert post(server, "/v1/passes", DISPATCH, granted).status_code == 403
    assert post(server, "/v1/passes", SITE, granted).status_code == 403
    assert post(server, "/v1/passes", None, granted).status_code == 401
    water = post(server, "/v1/passes", POLICE, {**granted, "zone_ids": ["osm-way-227338532"]})
    assert water.status_code == 422
    [error] = water.json()["detail"]
    assert error["loc"] == ["zone_ids", 0]
    assert "a pass never opens one" in error["msg"]
    backwards = post(server, "/v1/passes", POLICE, {**granted, "valid_until": "2026-11-26T07:00:00+08:00"})
    assert backwards.status_code == 422
    assert backwards.json()["detail"][0]["loc"] == ["valid_until"]
    issued = post(server, "/v1/passes", POLICE, granted)
    assert issued.status_code == 202, issued.text
    assert issued.json() == {"pass_id": "API-P-1", "plate": plate}
    opened = _until(server, plate, lambda r: r["status"] == "ok")
    assert opened["passes_used"] == ["API-P-1"]
    headers = {"X-API-Key": DISPATCH}
    assert httpx.delete(f"{server}/v1/passes/API-P-1", headers=headers, timeout=30).status_code == 403
    revoked = httpx.delete(f"{server}/v1/passes/API-P-1", headers={"X-API-Key": POLICE}, timeout=30)
    assert revoked.status_code == 202
    assert revoked.json() == {"pass_id": "API-P-1", "revoked": True}
    closed = _until(server, plate, lambda r: r["status"] != "ok")
    assert [b["zone_id"] for b in closed["blocked_by"]] == ["rs-test-corner"]


def test_zones_say_whether_they_are_in_force_now_in_the_city_time():
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from hazmat.api.routes import _with_state
    from hazmat.cityconfig import load_city
    from tests.routing_helpers import CHENGDU

    corner = next(f for f in load_city(str(CHENGDU)).zones.features if f.properties.id == "rs-test-corner")  # 07–21
    day = datetime(2026, 11, 26, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert _with_state(corner, day)["properties"]["active"] is True
    assert _with_state(corner, day + timedelta(hours=10))["properties"]["active"] is False  # 22:00
    # 04:00 UTC is noon in Chengdu: the window is read in the city's zone, not the server's
    assert _with_state(corner, day.astimezone(UTC).astimezone(ZoneInfo("Asia/Shanghai")))["properties"]["active"]


@pytest.mark.parametrize("path", ["/v1/positions", "/v1/vehicles/川A12345"])
@pytest.mark.parametrize(("key", "status"), [(None, 401), ("wrong", 401), (SITE, 403), (DISPATCH, 403)])
def test_vehicles_are_for_the_police_only(server, path, key, status):
    headers = {"X-API-Key": key} if key else {}
    assert httpx.get(f"{server}{path}", headers=headers, timeout=30).status_code == status


@pytest.mark.parametrize(("key", "status"), [(None, 401), ("wrong", 401), (SITE, 403), (DISPATCH, 403)])
def test_the_position_stream_is_for_the_police_only(server, key, status):
    query = f"?key={key}" if key else ""
    with httpx.stream("GET", f"{server}/v1/positions/stream{query}", timeout=30) as stream:
        assert stream.status_code == status
    assert httpx.get(f"{server}/v1/positions?key={POLICE}", timeout=30).status_code == 401  # headers elsewhere


def _poll(fetch, done, timeout: float = 60):
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        assert time.monotonic() < deadline, value
        time.sleep(0.2)  # polling the API for a condition, bounded by the deadline


def test_positions_reach_the_snapshot_the_stream_and_the_vehicle_file(server, kafka, api_prefix):
    from datetime import datetime

    from hazmat.monitor.simulate import drive

    plate = "晋B77001"
    body = changed(event_id="api-veh", vehicle__plate=plate, documents__waybill__plate=plate)
    assert post(server, "/v1/checkins", SITE, body).status_code == 202
    assert get(server, "/v1/verdicts/api-veh?wait=30", SITE).json()["verdict"] == "load"
    route = {
        "schema_version": 1, "request_id": "api-veh-rq", "plate": plate,
        "load": [{"un_number": "UN1005", "hazard_class": "2.3", "quantity_kg": 24000}],
        "origin": {"lon": 104.06, "lat": 30.67}, "destination": {"lon": 104.095, "lat": 30.715},
        "depart_at": "2026-11-26T10:00:00+08:00",
    }  # fmt: skip
    assert post(server, "/v1/route-requests", DISPATCH, route).status_code == 202
    issued = get(server, "/v1/routes/api-veh-rq?wait=30", DISPATCH).json()
    assert issued["status"] == "ok"

    batches: list[list[dict]] = []
    connected = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{server}/v1/positions/stream?key={POLICE}", timeout=60) as stream:
            for line in stream.iter_lines():
                if line.startswith(": connected"):
                    connected.set()
                if line.startswith("data: "):
                    batches.append(json.loads(line[6:]))
                    if any(v["plate"] == plate and v["event_id"] == "api-veh-p-00002" for v in batches[-1]):
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert connected.wait(30)
    start = datetime.fromisoformat("2026-11-26T10:00:00+08:00")
    pings = drive(issued["geometry"]["coordinates"], plate=plate, start=start, speed_kmh=40, event_prefix="api-veh-p")
    send_positions(kafka, api_prefix, pings[:3])
    [vehicle] = _poll(
        lambda: get(server, f"/v1/positions?plate={plate}", POLICE).json(),
        lambda found: found and found[0]["event_id"] == "api-veh-p-00002",
    )
    assert (vehicle["lon"], vehicle["lat"]) == (pings[2].lon, pings[2].lat)
    assert 0 <= vehicle["heading"] < 360
    assert vehicle["state"] == "ok"  # checked in, on its route
    thread.join(30)
    seen = [v for batch in batches for v in batch if v["plate"] == plate]
    assert seen
    assert seen[-1]["event_id"] == "api-veh-p-00002"
    assert all(len({v["plate"] for v in batch}) == len(batch) for batch in batches)  # one entry per vehicle

    file = get(server, f"/v1/vehicles/{plate}", POLICE).json()
    assert file["position"]["event_id"] == "api-veh-p-00002"
    assert file["checkin"]["event_id"] == "api-veh"
    assert file["checkin"]["verdict"]["verdict"] == "load"
    assert [(item["un_number"], item["name"], item["hazard_class"]) for item in file["checkin"]["load"]] == [
        ("UN1005", "液氨", "2.3")
    ]
    assert file["route"]["request_id"] == "api-veh-rq"
    assert [f["flow_id"] for f in file["flows"]] == ["f-api-veh-UN1005"]
    assert file["flows"][0]["overdue"] is False
    unknown = get(server, "/v1/vehicles/川Z99999", POLICE).json()
    assert (unknown["position"], unknown["checkin"], unknown["route"]) == (None, None, None)
