"""The operations map in a real headless browser (Debian's chromium and chromedriver, driven by selenium),
against a real ``hazmat serve``, worker and broker: what the police, a dispatcher and a loading site see.

Screenshots of the police and dispatcher views go to ``out/screenshots/`` (docs/screenshots/ keeps
copies for the README).
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime

import httpx
import pytest
from shapely.geometry import shape

from hazmat.monitor.simulate import drive, with_detour
from tests.api.conftest import DISPATCH, POLICE, SITE
from tests.helpers import REPO, changed
from tests.kafka_helpers import send_positions

pytestmark = pytest.mark.kafka

SCREENSHOTS = REPO / "out" / "screenshots"
START = datetime.fromisoformat("2026-11-26T10:00:00+08:00")
A, B = (104.060, 30.670), (104.095, 30.715)  # the route between them passes the reservoir (osm-way-227338532)
# the shortest way between these passes the reservoir: a toxic gas goes round it
WEST_OF_RESERVOIR, EAST_OF_RESERVOIR = (104.07, 30.705), (104.09, 30.716)
RESERVOIR = shape(
    {
        "type": "Polygon",
        "coordinates": [[[104.0790384, 30.7113064], [104.0833461, 30.7111749], [104.0798943, 30.7093599], [104.0790384, 30.7113064]]],
    }
).centroid  # fmt: skip


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    if not shutil.which("chromedriver") or not shutil.which("chromium"):
        pytest.skip("chromium and chromium-driver are not installed (.ci/run installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,900", "--lang=zh-CN"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))
    yield driver
    driver.quit()


def _post(base: str, path: str, key: str, body: dict) -> dict:
    response = httpx.post(
        f"{base}{path}",
        content=json.dumps(body, ensure_ascii=False).encode(),
        headers={"X-API-Key": key, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return response.json()


def _get(base: str, path: str, key: str) -> dict:
    response = httpx.get(f"{base}{path}", headers={"X-API-Key": key}, timeout=40)
    assert response.status_code == 200, response.text
    return response.json()


def _checked_in_with_route(base: str, plate: str, tag: str) -> list[list[float]]:
    """A passed check-in and a permitted route for ``plate``, over the API as the site and dispatcher do."""
    _post(base, "/v1/checkins", SITE, changed(event_id=tag, vehicle__plate=plate, documents__waybill__plate=plate))
    assert _get(base, f"/v1/verdicts/{tag}?wait=30", SITE)["verdict"] == "load"
    request = {
        "schema_version": 1, "request_id": f"{tag}-rq", "plate": plate,
        "load": [{"un_number": "UN1005", "hazard_class": "2.3", "quantity_kg": 24000}],
        "origin": {"lon": A[0], "lat": A[1]}, "destination": {"lon": B[0], "lat": B[1]}, "depart_at": START.isoformat(),
    }  # fmt: skip
    _post(base, "/v1/route-requests", DISPATCH, request)
    route = _get(base, f"/v1/routes/{tag}-rq?wait=30", DISPATCH)
    assert route["status"] == "ok", route
    return route["geometry"]["coordinates"]


def _sign_in(browser, wait, key: str, role: str) -> None:
    field = browser.find_element("id", "key")
    field.clear()
    field.send_keys(key)
    browser.execute_script("document.getElementById('key').dispatchEvent(new Event('change'))")
    wait.until(lambda b: b.execute_script("return ops.role") == role)


def _until_or_explain(wait, condition, server: str, plate: str) -> None:
    """``wait.until(condition)``; on a timeout, fail with what the API and the page knew of ``plate``."""
    from selenium.common.exceptions import TimeoutException

    try:
        wait.until(condition)
    except TimeoutException:
        api = httpx.get(f"{server}/v1/vehicles/{plate}", headers={"X-API-Key": POLICE}, timeout=30).json()
        page = wait._driver.execute_script(
            "return {vehicle: ops.vehicles.has(arguments[0]) ? ops.vehicles.get(arguments[0]).data : null,"
            " feeds: ops.feeds.map((f) => f.readyState)}",
            plate,
        )
        raise AssertionError(f"api: {api}\npage: {page}") from None


def _drawn_colour(browser, plate: str) -> tuple[int, ...] | None:
    """The colour the vehicles' canvas has at the centre of ``plate``'s arrow (None while off the view)."""
    rgb = browser.execute_script(
        "const p = ops.vehiclePoint(arguments[0]), c = document.querySelector('canvas.vehicles-canvas');"
        "if (!p || !c || p.x < 0 || p.y < 0 || p.x >= c.clientWidth || p.y >= c.clientHeight) return null;"
        "const k = c.width / c.clientWidth;"
        "return [...c.getContext('2d').getImageData(Math.round(p.x * k), Math.round(p.y * k), 1, 1).data].slice(0, 3);",
        plate,
    )
    return None if rgb is None else tuple(rgb)


def _no_console_errors(browser) -> None:
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


def _open(browser, server: str):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 60, ignored_exceptions=(StaleElementReferenceException,))  # markers are redrawn
    browser.get(f"{server}/")
    browser.execute_script("localStorage.clear()")
    wait.until(lambda b: b.execute_script("return window.ops && ops.city !== null && ops.zoneLayers.size > 0"))
    return wait


def test_police_see_a_trip_move_its_detour_alert_on_the_map_and_the_vehicle_load(server, kafka, api_prefix, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    plate = "晋B66001"
    coords = _checked_in_with_route(server, plate, "page-trip")
    wait = _open(browser, server)

    # the map: the city's roads on one canvas, zones coloured by kind with their tooltip, a scale bar
    assert browser.execute_script("return ops.roadCount") > 1000, "the Chengdu extract has thousands of road segments"
    assert browser.find_elements(By.CSS_SELECTOR, ".leaflet-overlay-pane canvas")
    corner = browser.find_element(By.CSS_SELECTOR, 'path.zone-restricted[data-zone="rs-test-corner"]')
    assert corner.get_attribute("stroke") in ("#ff7f00", "#9a9a9a")  # its kind's colour, grey out of its window
    assert browser.find_elements(By.CSS_SELECTOR, 'path.zone-water_source[data-zone="osm-way-227338532"]')
    ActionChains(browser).move_to_element(corner).perform()  # its tooltip: name, kind, windows, applies_to, source
    tip = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, ".leaflet-tooltip")).text
    for part in ("测试限行区", "restricted area", "07:00–21:00", "every hazmat load", "test fixture"):
        assert part in tip, tip
    ActionChains(browser).move_by_offset(0, 300).perform()
    assert browser.find_element(By.CSS_SELECTOR, ".leaflet-control-scale-line").text.endswith(("m", "km"))
    assert browser.find_element(By.ID, "sec-alerts").is_displayed() is False  # no key: the map only

    # zoom changes the view (and the scale bar)
    zoom = browser.execute_script("return ops.map.getZoom()")
    scale = browser.find_element(By.CSS_SELECTOR, ".leaflet-control-scale-line").text
    browser.find_element(By.CSS_SELECTOR, ".leaflet-control-zoom-in").click()
    wait.until(lambda b: b.execute_script("return ops.map.getZoom()") == zoom + 1)
    wait.until(lambda b: b.find_element(By.CSS_SELECTOR, ".leaflet-control-scale-line").text != scale)

    _sign_in(browser, wait, POLICE, "police")
    wait.until(lambda b: b.execute_script("return ops.positionFeed.readyState === 1 && ops.alertFeed.readyState === 1"))
    assert browser.find_element(By.ID, "sec-alerts").is_displayed()
    assert browser.find_element(By.ID, "sec-route").is_displayed() is False  # the dispatcher's form is not the police's

    # a simulated trip moves the vehicle's marker
    pings = drive(with_detour(coords, 0.5, [[RESERVOIR.x, RESERVOIR.y]]), plate=plate, start=START, speed_kmh=40,
                  event_prefix="page-trip-p")  # fmt: skip
    send_positions(kafka, api_prefix, pings[:2])
    vehicle = "return ops.vehicles.has(arguments[0]) ? ops.vehicles.get(arguments[0]).data : null"
    first = wait.until(lambda b: b.execute_script(vehicle, plate))
    pings = pings[: len(pings) * 4 // 5]  # past the detour, short of the destination: the load is still on board
    stranger = drive(coords[::-1], plate="晋B66009", start=START, speed_kmh=40, event_prefix="page-stranger")[:6]
    send_positions(kafka, api_prefix, pings[2:] + stranger)  # and a tanker that never checked in
    last = pings[-1]
    moved = wait.until(lambda b: (v := b.execute_script(vehicle, plate))["at"] == last.at.isoformat() and v)
    assert (moved["lat"], moved["lon"]) == pytest.approx((last.lat, last.lon))
    assert (moved["lat"], moved["lon"]) != pytest.approx((first["lat"], first["lon"]))
    assert moved["heading"] is not None  # drawn as an arrow, turned to it
    # coloured by state on the map's canvas: checked in and on its way green, never checked in purple
    _until_or_explain(
        wait, lambda b: (b.execute_script(vehicle, "晋B66009") or {}).get("state") == "unchecked", server, "晋B66009"
    )
    for who, colour in ((plate, (0x2A, 0x8A, 0x3A)), ("晋B66009", (0x7B, 0x2F, 0xBF))):
        wait.until(lambda b, who=who, colour=colour: _drawn_colour(b, who) == colour)

    # the detour puts a zone_entry marker on the map and in the list; a click on the list flies there
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".alert-marker.kind-zone_entry"))
    entry = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, '#alerts li[data-kind="zone_entry"]'))
    assert plate in entry.text
    zoom = browser.execute_script("return ops.map.getZoom()")
    entry.click()
    wait.until(lambda b: b.execute_script("return ops.map.getZoom()") >= max(zoom, 16))
    centre = browser.execute_script("return ops.map.getCenter()")
    location = browser.execute_script(
        "return ops.alerts.get(arguments[0]).alert.location", entry.get_attribute("data-alert-id")
    )
    assert (centre["lat"], centre["lng"]) == pytest.approx((location["lat"], location["lon"]), abs=2e-4)
    # the filter keeps one kind
    browser.execute_script("const f = document.getElementById('alert-filter'); f.value = 'speeding'; f.onchange()")
    assert not entry.is_displayed()
    browser.execute_script("const f = document.getElementById('alert-filter'); f.value = ''; f.onchange()")

    # clicking the vehicle shows its load, its last verdict and the route issued to it (drawn)
    browser.execute_script(
        "ops.map.closePopup(); ops.map.setView([arguments[0].lat, arguments[0].lon], 15, {animate: false})", moved
    )
    _click_map_at(browser, moved["lon"], moved["lat"])
    wait.until(lambda b: "液氨" in b.find_element(By.ID, "vehicle-load").text)
    assert "UN1005" in browser.find_element(By.ID, "vehicle-load").text
    assert "load" in browser.find_element(By.ID, "vehicle-verdict").text
    assert "rt-page-trip-rq" in browser.find_element(By.ID, "vehicle-route").text
    assert browser.find_elements(By.CSS_SELECTOR, "path.vehicle-route")
    assert "UN1005" in browser.find_element(By.ID, "vehicle-flows").text
    # the flows list names the vehicle too, and a click selects it
    browser.find_element(By.ID, "flows-refresh").click()
    wait.until(
        lambda b: (
            b.execute_script("return ops.flowsPending") == 0
            and "最后位置 last seen" in b.find_element(By.CSS_SELECTOR, f'#flows li[data-plate="{plate}"]').text
        )
    )
    browser.execute_script("ops.selected = null; document.getElementById('vehicle').textContent = ''")
    browser.find_element(By.CSS_SELECTOR, f'#flows li[data-plate="{plate}"]').click()
    wait.until(lambda b: b.find_element(By.ID, "vehicle-plate").text == plate)  # a click on a flow shows its vehicle

    browser.execute_script("ops.map.stop(); ops.map.fitBounds(ops.vehicleRoute.getBounds().pad(0.15), {animate: false});"
                           "document.getElementById('panel').scrollTop = 0; ops.map.closePopup(); ops.selectVehicle(arguments[0])",
                           plate)  # fmt: skip
    wait.until(  # one popup, faded in (a closing one fades out first)
        lambda b: (
            [p.value_of_css_property("opacity") for p in b.find_elements(By.CSS_SELECTOR, ".leaflet-popup")] == ["1"]
        )
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "police.png"))
    _no_console_errors(browser)

    # a page opened later is full at once: the vehicles' last positions and the alerts so far
    browser.refresh()
    wait.until(lambda b: b.execute_script("return window.ops && ops.city !== null"))
    wait.until(lambda b: b.execute_script("return ops.role") == "police")  # the key is remembered
    again = wait.until(lambda b: b.execute_script(vehicle, plate))
    assert again["at"] == last.at.isoformat()  # no new ping was sent: this is the snapshot
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, '#alerts li[data-kind="zone_entry"]'))
    assert not browser.find_elements(By.CSS_SELECTOR, "#alerts li.fresh")  # history is not highlighted as new
    _no_console_errors(browser)


def _click_map_at(browser, lon: float, lat: float) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    element = browser.find_element(By.ID, "map")
    x, y = browser.execute_script(
        "const p = ops.map.latLngToContainerPoint([arguments[1], arguments[0]]); return [p.x, p.y]", lon, lat
    )
    size = element.size
    ActionChains(browser).move_to_element_with_offset(element, int(x - size["width"] / 2), int(y - size["height"] / 2)).click().perform()  # fmt: skip


def test_a_dispatcher_asks_a_route_with_two_clicks_and_sees_it_drawn_or_what_blocks_it(server, browser):
    from selenium.webdriver.common.by import By

    wait = _open(browser, server)
    _sign_in(browser, wait, DISPATCH, "dispatcher")
    assert browser.find_element(By.ID, "sec-route").is_displayed()
    assert not browser.find_element(By.ID, "sec-alerts").is_displayed()  # no alerts nor vehicles for this role
    assert browser.execute_script("return ops.feeds.length") == 0
    browser.execute_script(
        "ops.map.fitBounds([[30.665, 104.055], [30.72, 104.13]], {animate: false})"
    )  # clicks land where asked

    _click_map_at(browser, *WEST_OF_RESERVOIR)
    _click_map_at(browser, *EAST_OF_RESERVOIR)
    origin = [float(v) for v in browser.find_element(By.ID, "from").get_attribute("value").split(",")]
    destination = [float(v) for v in browser.find_element(By.ID, "to").get_attribute("value").split(",")]
    assert origin == pytest.approx(list(WEST_OF_RESERVOIR), abs=5e-4)
    assert destination == pytest.approx(list(EAST_OF_RESERVOIR), abs=5e-4)
    assert len(browser.find_elements(By.CSS_SELECTOR, ".pick-marker")) == 2
    for field, value in (("plate", "川A12345"), ("un", "UN1005"), ("cls", "2.3")):
        element = browser.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    browser.execute_script("document.getElementById('depart').value = '2026-11-26T10:00'")
    browser.find_element(By.ID, "route-go").click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "path.route-line"))
    assert "km" in browser.find_element(By.ID, "route-result").text
    drawn = browser.execute_script("return ops.routeLayer.getLatLngs().map((p) => [p.lng, p.lat])")
    assert drawn[0] == pytest.approx(origin, abs=0.01)
    assert drawn[-1] == pytest.approx(destination, abs=0.01)
    # the reservoir it goes round is dashed, and the explanation says why
    assert "osm-way-227338532" in browser.execute_script("return ops.routeZones.avoided.map((a) => a.zone_id)")
    reservoir = browser.find_element(By.CSS_SELECTOR, 'path.avoided[data-zone="osm-way-227338532"]')
    assert reservoir.get_attribute("stroke-dasharray")
    assert "osm-way-227338532" in browser.find_element(By.ID, "route-result").text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "dispatcher.png"))

    # typing still works: a toxic gas into the restricted corner at 10:00 is refused, with what blocks it
    for field, value in (("to", "104.125,30.7245"),):
        element = browser.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    browser.find_element(By.ID, "route-go").click()
    wait.until(lambda b: b.find_elements(By.ID, "earliest"))
    assert "no permitted route" in browser.find_element(By.ID, "route-result").text
    assert "rs-test-corner" in browser.find_element(By.ID, "route-result").text
    assert browser.find_element(By.ID, "earliest").text.endswith("21:00:00")  # the window closes at 21:00
    assert browser.find_elements(By.CSS_SELECTOR, 'path.blocking[data-zone="rs-test-corner"]')
    assert not browser.find_elements(By.CSS_SELECTOR, "path.route-line")
    _no_console_errors(browser)


def test_a_loading_site_looks_up_check_ins_with_findings_in_both_languages(server, browser):
    from selenium.webdriver.common.by import By

    plate = "晋B66002"
    body = changed(event_id="page-refuse", vehicle__plate=plate, documents__waybill__plate=plate,
                   tank__inspection_valid_until="2026-10-01")  # fmt: skip
    _post(server, "/v1/checkins", SITE, body)
    assert _get(server, "/v1/verdicts/page-refuse?wait=30", SITE)["verdict"] == "refuse"
    wait = _open(browser, server)
    _sign_in(browser, wait, SITE, "site")
    assert browser.find_element(By.ID, "sec-lookup").is_displayed()
    for section in ("sec-alerts", "sec-route", "sec-flows", "sec-vehicle"):
        assert not browser.find_element(By.ID, section).is_displayed(), section
    browser.find_element(By.ID, "lookup-plate").send_keys(plate)
    browser.find_element(By.ID, "lookup-go").click()
    wait.until(lambda b: "TNK-001" in b.find_element(By.ID, "lookup-result").text)
    text = browser.find_element(By.ID, "lookup-result").text
    assert "罐体检验已过期" in text
    assert "Tank inspection expired" in text
    assert "refuse" in text
    _no_console_errors(browser)


@pytest.fixture
def tile_city_server(tmp_path):
    """The page of a city that sets ``map_tiles_url``, served without a broker (the page, zones and tiles
    need none); the tiles come from the same server (an image of the package), so none is fetched outside."""
    import socket
    import threading
    import time

    import uvicorn

    from hazmat.api.app import create_app
    from hazmat.cityconfig import load_city
    from tests.routing_helpers import CHENGDU

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    base = f"http://127.0.0.1:{port}"
    city_dir = tmp_path / "chengdu"
    shutil.copytree(CHENGDU, city_dir)
    (city_dir / "city.yaml").write_text(
        (CHENGDU / "city.yaml").read_text(encoding="utf-8").replace("../../osm/", f"{CHENGDU.parent.parent}/osm/")
        + f"map_tiles_url: {base}/static/leaflet/images/layers.png?z={{z}}&x={{x}}&y={{y}}\n"
        + "map_tiles_attribution: © example tiles\n",
        encoding="utf-8",
    )
    app = create_app(load_city(str(city_dir)), "127.0.0.1:1")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the page server did not start"
        time.sleep(0.05)  # waiting for the server thread, bounded by the deadline
    yield base
    server.should_exit = True
    thread.join(10)


def test_a_city_with_a_tile_server_gets_its_tiles_instead_of_the_road_layer(tile_city_server, browser):
    from urllib.parse import parse_qs, urlparse

    from selenium.webdriver.common.by import By

    wait = _open(browser, tile_city_server)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "img.leaflet-tile-loaded"))
    zoom = browser.execute_script("return ops.map.getZoom()")
    tiles = [
        parse_qs(urlparse(t.get_attribute("src")).query)
        for t in browser.find_elements(By.CSS_SELECTOR, "img.leaflet-tile")
    ]
    assert {int(t["z"][0]) for t in tiles} == {zoom}
    n = 2**zoom
    xs = {int(t["x"][0]) for t in tiles}
    assert min(xs) <= n * (104.06 + 180) / 360 <= max(xs) + 1  # tiles around Chengdu
    assert browser.execute_script("return ops.roadCount") is None  # the road layer is not drawn
    assert "© example tiles" in browser.find_element(By.CSS_SELECTOR, ".leaflet-control-attribution").text
    assert browser.find_elements(By.CSS_SELECTOR, 'path.zone[data-zone="rs-test-corner"]')
    _no_console_errors(browser)
