"""The web page in a real headless browser (Debian's chromium and chromedriver, driven by selenium)."""

from __future__ import annotations

import shutil

import pytest

from tests.api.conftest import DISPATCH, POLICE
from tests.helpers import REPO

pytestmark = pytest.mark.kafka

SCREENSHOTS = REPO / "out" / "screenshots"


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    if not shutil.which("chromedriver") or not shutil.which("chromium"):
        pytest.skip("chromium and chromium-driver are not installed (.ci/run installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,900"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))
    yield driver
    driver.quit()


def test_the_page_draws_zones_streams_alerts_and_draws_a_requested_route(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 40)
    browser.get(f"{server}/")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, 'path.zone[data-zone="rs-test-corner"]')))
    # no tile server configured: the base layer is the city's own road network
    minor = browser.find_element(By.CSS_SELECTOR, "#roads path.road-minor").get_attribute("d")
    assert minor.count("M") > 1000, "the Chengdu extract has thousands of road segments"
    # with a tile URL the page places XYZ tiles for the view instead (a data: URL: no tile server here)
    placed = browser.execute_script(
        "return drawTiles({url: 'data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22 id=%22{z}-{x}-{y}%22/%3E',"
        " attribution: 't'}) + '|' + [...document.querySelectorAll('#tiles image')].map((i) => i.getAttribute('href')).join('|');"
    )
    count, *hrefs = placed.split("|")
    assert 1 <= int(count) <= 256
    assert len(hrefs) == int(count)
    ids = {h.split("id=%22")[1].split("%22")[0] for h in hrefs}
    assert len(ids) == int(count)  # one tile per z-x-y
    z, x, _y = (int(v) for v in sorted(ids)[0].split("-"))
    assert 10 <= z <= 18  # a city-scale zoom
    assert 2**z * (104.0 + 180) / 360 - 2 < x < 2**z * (104.2 + 180) / 360 + 2  # tiles around Chengdu
    browser.execute_script("document.getElementById('tiles').innerHTML = ''")
    # a designated area's roads are drawn as lines over the zones (the test city has none: one is added)
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "zoneData.features.push({type: 'Feature', properties: {id: 'dr-test', kind: 'designated_road', area: 'rs-test-corner'},"
        " geometry: {type: 'MultiLineString', coordinates: [[[104.123, 30.723], [104.127, 30.726]]]}});"
        "drawZones().then(() => done(null));"
    )
    road = browser.find_element(By.CSS_SELECTOR, 'path.designated-road[data-road="dr-test"]')
    assert road.get_attribute("data-area") == "rs-test-corner"
    assert road.get_attribute("d").startswith("M")
    assert browser.find_elements(By.CSS_SELECTOR, 'path.zone[data-zone="rs-test-corner"]')  # still drawn
    key = browser.find_element(By.ID, "key")
    key.clear()
    key.send_keys(POLICE)
    browser.execute_script("document.getElementById('key').dispatchEvent(new Event('change'))")
    wait.until(ec.text_to_be_present_in_element((By.ID, "feed-status"), "connected"))

    key.clear()
    key.send_keys(DISPATCH)
    for field, value in (
        ("plate", "川A12345"),
        ("from", "104.06,30.67"),
        ("to", "104.11,30.71"),
        ("un", "UN1203"),
        ("cls", "3"),
    ):
        element = browser.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    browser.find_element(By.ID, "route-go").click()
    wait.until(ec.presence_of_element_located((By.ID, "route")))
    assert browser.find_element(By.ID, "route").get_attribute("d").startswith("M")
    assert "km" in browser.find_element(By.ID, "route-result").text

    # the key field changes while the feed asks /v1/whoami: the feed keeps the key it was asked with
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"keyInput.value = '{POLICE}'; const pending = connectFeed(); keyInput.value = '';"
        "pending.then(() => done(null));"
    )
    wait.until(lambda b: b.execute_script("return feed.readyState") != 0)  # not connecting any more
    assert browser.execute_script("return feed.url").endswith(f"key={POLICE}")
    assert browser.execute_script("return feed.readyState") == 1  # open

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "page.png"))
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors
