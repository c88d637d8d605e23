"""API keys and the operator's city folder: `config init`, `keys add|list|revoke`, the serve rule."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from hazmat import cli
from hazmat.api.keys import KeyStore, add_key, digest, read_keys_file, revoke_key
from hazmat.cityconfig import CITIES_DIR, load_city
from hazmat.cityfolder import init_city, is_template
from hazmat.errors import ConfigError
from tests.routing_helpers import CHENGDU

runner = CliRunner()
BUNDLED = sorted(p for p in CITIES_DIR.iterdir() if p.is_dir())


def run(*args: str):
    return runner.invoke(cli.app, list(args))


def lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


@pytest.fixture
def city(tmp_path: Path) -> Path:
    """An operator's copy of Datong, made the documented way."""
    folder = tmp_path / "city"
    assert run("config", "init", str(folder), "--from", "datong").exit_code == 0
    return folder


def added(folder: Path, *args: str) -> str:
    result = run("keys", "add", "--config", str(folder), *args)
    assert result.exit_code == 0, result.output
    [key] = result.stdout.split()
    return key


# --- no default keys -------------------------------------------------------------------


@pytest.mark.parametrize("folder", [*BUNDLED, CHENGDU], ids=lambda p: p.name)
def test_bundled_and_test_cities_ship_no_keys(folder):
    assert read_keys_file(folder).keys == []


def test_the_old_demo_keys_open_nothing_anywhere():
    files = [*CITIES_DIR.glob("*/api_keys.yaml"), *CHENGDU.parent.glob("*/api_keys.yaml")]
    assert files
    demo = {digest(k) for k in ("demo-police", "demo-dispatcher", "demo-site-DT-LS-001", "demo-site-DT-LS-002")}
    for path in files:
        assert not demo & {k.sha256 for k in read_keys_file(path.parent).keys}, path


# --- hazmat config init ----------------------------------------------------------------


def test_config_init_copies_a_bundled_city_without_keys(tmp_path):
    folder = tmp_path / "deploy" / "harbin"
    result = run("config", "init", str(folder), "--from", "harbin")
    assert result.exit_code == 0, result.output
    template = CITIES_DIR / "harbin"
    for name in ("city.yaml", "rules.yaml", "blacklist.yaml", "zones.geojson", "samples/morning-checkins.jsonl"):
        assert (folder / name).read_bytes() == (template / name).read_bytes(), name
    assert not (folder / "api_keys.yaml").exists()
    city = load_city(folder)
    extract = folder / city.settings.graph.file
    assert extract.is_file()
    assert extract.read_bytes() == (template / city.settings.graph.file).read_bytes()
    assert not is_template(folder)
    assert f"hazmat keys add --config {folder.resolve()} --role police" in result.stdout


def test_config_init_names_the_graph_build_for_a_downloaded_city(tmp_path):
    result = run("config", "init", str(tmp_path / "dt"), "--from", "datong")
    assert result.exit_code == 0
    assert f"hazmat graph build --config {(tmp_path / 'dt').resolve()}" in result.stdout


def test_config_init_refuses_a_non_empty_folder_unless_forced(city):
    key = added(city, "--role", "police")
    (city / "city.yaml").write_text("edited", encoding="utf-8")
    refused = run("config", "init", str(city), "--from", "datong")
    assert refused.exit_code == 1
    assert "not empty" in refused.stderr
    assert (city / "city.yaml").read_text(encoding="utf-8") == "edited"
    forced = run("config", "init", str(city), "--from", "datong", "--force")
    assert forced.exit_code == 0, forced.output
    assert (city / "city.yaml").read_bytes() == (CITIES_DIR / "datong" / "city.yaml").read_bytes()
    assert digest(key) in {k.sha256 for k in read_keys_file(city).keys}  # the deployment's keys stay


def test_config_init_will_not_write_into_the_bundled_cities():
    result = run("config", "init", str(CITIES_DIR / "copy-of-datong"), "--from", "datong")
    assert result.exit_code == 1
    assert "bundled cities" in result.stderr
    assert not (CITIES_DIR / "copy-of-datong").exists()


def test_config_init_from_an_unknown_city_lists_the_bundled_ones(tmp_path):
    result = run("config", "init", str(tmp_path / "x"), "--from", "atlantis")
    assert result.exit_code == 1
    assert "datong" in result.stderr


def test_a_graph_file_outside_the_copied_folder_stays_reachable(tmp_path):
    folder = tmp_path / "chengdu"
    init_city(folder, CHENGDU)
    copied, original = load_city(folder), load_city(CHENGDU)
    assert (folder / copied.settings.graph.file).resolve() == (CHENGDU / original.settings.graph.file).resolve()
    text = (folder / "city.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Test city")  # one value replaced, the comments kept
    assert "../../osm/" not in text


# --- hazmat keys add / list / revoke ---------------------------------------------------


def test_keys_add_prints_a_random_key_once_and_stores_only_its_hash(city):
    result = run("keys", "add", "--config", str(city), "--role", "site", "--site", "DT-LS-001", "--name", "gate 1")
    assert result.exit_code == 0, result.output
    [key] = result.stdout.split()
    assert len(key) >= 43  # 256 bits, URL-safe base64
    assert key != added(city, "--role", "site", "--site", "DT-LS-001", "--name", "gate 2")
    text = (city / "api_keys.yaml").read_text(encoding="utf-8")
    assert key not in text
    assert key not in result.stderr
    [entry] = [k for k in read_keys_file(city).keys if k.name == "gate 1"]
    assert (entry.sha256, entry.role, entry.site_id) == (digest(key), "site", "DT-LS-001")
    assert entry.created_at is not None
    assert entry.prefix in result.stderr
    assert (city / "api_keys.yaml").stat().st_mode & 0o777 == 0o644  # readable by a container's user
    assert [p.name for p in city.iterdir() if p.name.startswith(".api_keys")] == []


def test_keys_add_refuses_a_bundled_city_and_says_what_to_run(tmp_path):
    before = (CITIES_DIR / "harbin" / "api_keys.yaml").read_bytes()
    result = run("keys", "add", "--config", "harbin", "--role", "police")
    assert result.exit_code == 1
    assert "hazmat config init DIR --from harbin" in result.stderr
    assert result.stdout == ""
    assert (CITIES_DIR / "harbin" / "api_keys.yaml").read_bytes() == before


def test_keys_add_refuses_a_folder_that_is_not_a_city(tmp_path):
    result = run("keys", "add", "--config", str(tmp_path), "--role", "police")
    assert result.exit_code == 1
    assert "no city.yaml" in result.stderr
    assert not (tmp_path / "api_keys.yaml").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "site"], "--site ID"),
        (["--role", "police", "--site", "DT-LS-001"], "--site is for site keys only"),
        (["--role", "chief"], "role 'chief' is not one of site, dispatcher, police"),
    ],
)
def test_keys_add_bad_arguments_exit_2_and_write_nothing(city, args, message):
    result = run("keys", "add", "--config", str(city), *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert not (city / "api_keys.yaml").exists()


def test_a_taken_name_is_refused_and_default_names_are_numbered(city):
    added(city, "--role", "police", "--name", "traffic police")
    result = run("keys", "add", "--config", str(city), "--role", "dispatcher", "--name", "traffic police")
    assert result.exit_code == 2
    assert "exists already" in result.stderr
    added(city, "--role", "police")
    added(city, "--role", "police")
    added(city, "--role", "site", "--site", "DT-LS-002")
    names = [k.name for k in read_keys_file(city).keys]
    assert names == ["traffic police", "police", "police-2", "site DT-LS-002"]


def test_keys_list_shows_the_hash_prefix_never_the_key(city):
    key = added(city, "--role", "dispatcher", "--name", "dispatch centre")
    result = run("keys", "list", "--config", str(city), "--json")
    assert result.exit_code == 0
    [row] = lines(result.stdout)
    assert row["name"] == "dispatch centre"
    assert row["role"] == "dispatcher"
    assert row["site_id"] is None
    assert row["created_at"]
    assert row["sha256_prefix"] == digest(key)[:12]
    assert key not in result.output


def test_keys_list_of_an_empty_folder_says_how_to_add_one(city):
    result = run("keys", "list", "--config", str(city))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert f"hazmat keys add --config {city.resolve()} --role police" in result.stderr


def test_revoke_by_name_or_hash_prefix(city):
    police = added(city, "--role", "police")
    site = added(city, "--role", "site", "--site", "DT-LS-001")
    assert run("keys", "revoke", "police", "--config", str(city)).exit_code == 0
    assert [k.sha256 for k in read_keys_file(city).keys] == [digest(site)]
    assert run("keys", "revoke", digest(site)[:8], "--config", str(city)).exit_code == 0
    assert read_keys_file(city).keys == []
    missing = run("keys", "revoke", digest(police)[:8], "--config", str(city))
    assert missing.exit_code == 2
    assert "no key named" in missing.stderr


def test_an_ambiguous_prefix_revokes_nothing(city):
    entries = [
        {"name": "a", "sha256": "abcdef" + "0" * 58, "role": "police"},
        {"name": "b", "sha256": "abcdef" + "1" * 58, "role": "police"},
    ]
    (city / "api_keys.yaml").write_text(yaml.safe_dump({"keys": entries}), encoding="utf-8")
    result = run("keys", "revoke", "abcdef", "--config", str(city))
    assert result.exit_code == 2
    assert "several keys" in result.stderr
    assert len(read_keys_file(city).keys) == 2
    assert run("keys", "revoke", "abcdef1", "--config", str(city)).exit_code == 0
    assert [k.name for k in read_keys_file(city).keys] == ["a"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(city, monkeypatch):
    add_key(city, role="police")
    before = (city / "api_keys.yaml").read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        add_key(city, role="dispatcher")
    assert (city / "api_keys.yaml").read_bytes() == before
    assert sorted(p.name for p in city.iterdir() if p.name.startswith(".")) == []


# --- hazmat config validate ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("keys:\n  - name: [\n", "api_keys.yaml: line 3, column 1: not valid YAML"),
        (
            "keys:\n  - {name: x, sha256: " + "a" * 64 + ", role: chief}\n",
            "api_keys.yaml: keys[0].role: Input should be",
        ),
        ("keys:\n  - {name: x, sha256: " + "a" * 64 + ", role: site}\n", "api_keys.yaml: keys[0]: site_id is required"),
        ("keys:\n  - {name: x, sha256: nothex, role: police}\n", "api_keys.yaml: keys[0].sha256: String should match"),
        ("secrets: []\n", "api_keys.yaml: secrets: Extra inputs are not permitted"),
    ],
)
def test_validate_names_file_and_field_of_a_broken_keys_file(city, text, expected):
    (city / "api_keys.yaml").write_text(text, encoding="utf-8")
    result = run("config", "validate", "--config", str(city))
    assert result.exit_code == 1
    assert f"{city.resolve()}/{expected}" in result.stderr
    assert "Traceback" not in result.output


def test_validate_catches_a_name_used_twice(city):
    add_key(city, role="police", name="p")
    data = yaml.safe_load((city / "api_keys.yaml").read_text(encoding="utf-8"))
    data["keys"].append({**data["keys"][0], "sha256": "b" * 64})
    (city / "api_keys.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run("config", "validate", "--config", str(city))
    assert result.exit_code == 1
    assert "api_keys.yaml: keys: name 'p' is used twice (entries 0 and 1)" in result.stderr


def test_validate_reports_the_city_and_the_keys_file_together(city):
    (city / "rules.yaml").unlink()
    (city / "api_keys.yaml").write_text("keys: 3\n", encoding="utf-8")
    result = run("config", "validate", "--config", str(city))
    assert result.exit_code == 1
    assert "rules.yaml: file is missing" in result.stderr
    assert "api_keys.yaml: keys: Input should be a valid list" in result.stderr


def test_validate_counts_the_keys(city):
    assert "the API admits nobody" in run("config", "validate", "--config", str(city)).stdout
    add_key(city, role="police")
    add_key(city, role="site", site_id="DT-LS-001")
    assert "2 API keys (1 police, 1 site)" in run("config", "validate", "--config", str(city)).stdout


# --- hazmat serve: no keys, no listening beyond this machine ---------------------------


@pytest.fixture
def serving(monkeypatch) -> list[tuple[str, int]]:
    """Stand-ins for the broker and the server, so a test sees whether serve would have started."""
    from hazmat.streams import admin, bootstrap

    started: list[tuple[str, int]] = []
    monkeypatch.setattr(bootstrap, "bootstrap_servers", lambda: "127.0.0.1:1")
    monkeypatch.setattr(admin, "ensure_topics", lambda servers: None)
    monkeypatch.setattr("uvicorn.run", lambda app, host, port, **kw: started.append((host, port)))
    return started


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "hazmat.example.org"])
def test_serve_beyond_loopback_without_keys_refuses_before_starting(city, serving, monkeypatch, host):
    from hazmat.streams import bootstrap

    monkeypatch.setattr(bootstrap, "bootstrap_servers", lambda: pytest.fail("serve went on to Kafka"))
    result = run("serve", "--host", host, "--config", str(city))
    assert result.exit_code == 1
    assert serving == []
    message = " ".join(result.stderr.split())
    assert f"refusing to serve on {host}: {city.resolve() / 'api_keys.yaml'} is missing" in message
    assert f"hazmat keys add --config {city.resolve()} --role police" in message


def test_serve_refuses_an_empty_keys_file_and_a_bundled_city(city, serving):
    add_key(city, role="police", name="p")
    revoke_key(city, "p")
    empty = run("serve", "--host", "0.0.0.0", "--config", str(city))
    assert empty.exit_code == 1
    assert "has no keys" in empty.stderr
    bundled = run("serve", "--host", "0.0.0.0", "--config", "datong")
    assert bundled.exit_code == 1
    assert "hazmat config init DIR --from datong" in " ".join(bundled.stderr.split())
    assert serving == []


def test_serve_on_loopback_without_keys_starts_and_warns(city, serving):
    result = run("serve", "--config", str(city))
    assert result.exit_code == 0, result.output
    assert serving == [("127.0.0.1", 8000)]
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    [warning] = [line for line in logged if line["level"] == "warning"]
    assert "every request that needs a key gets 401" in warning["msg"]
    assert warning["file"] == str(city.resolve() / "api_keys.yaml")


def test_serve_beyond_loopback_with_a_key_starts(city, serving):
    add_key(city, role="police")
    result = run("serve", "--host", "0.0.0.0", "--port", "8123", "--config", str(city))
    assert result.exit_code == 0, result.output
    assert serving == [("0.0.0.0", 8123)]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        *[("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True)],
        *[("0.0.0.0", False), ("::", False), ("10.0.0.1", False), ("", False), ("example.org", False)],
    ],
)
def test_loopback_hosts(host, loopback):
    assert cli._is_loopback(host) is loopback


# --- a running API follows the file ----------------------------------------------------


def test_the_running_api_sees_added_and_revoked_keys_without_a_restart(city):
    from hazmat.api.app import create_app

    app = create_app(load_city(city), "127.0.0.1:1")

    async def whoami(key: str) -> httpx.Response:
        # ASGI transport without the lifespan: no Kafka needed to check a key
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hazmat") as client:
            return await client.get("/v1/whoami", headers={"X-API-Key": key})

    key, _ = add_key(city, role="police", name="late")
    response = asyncio.run(whoami(key))
    assert response.status_code == 200
    assert response.json() == {"name": "late", "role": "police", "site_id": None}
    revoke_key(city, "late")
    assert asyncio.run(whoami(key)).status_code == 401


def test_a_keys_file_broken_after_start_admits_nobody(city):
    key, _ = add_key(city, role="police")
    store = KeyStore(city)
    assert store.get(digest(key)) is not None
    (city / "api_keys.yaml").write_text("keys: [\n", encoding="utf-8")
    assert store.get(digest(key)) is None


def test_a_keys_file_broken_before_start_stops_start_up(city):
    (city / "api_keys.yaml").write_text("keys: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"api_keys.yaml: line"):
        KeyStore(city)


def _add_police(args: tuple[str, int]) -> None:
    add_key(Path(args[0]), role="police", name=f"officer-{args[1]}")


def test_keys_added_at_once_by_several_processes_are_all_kept(city):
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(6) as pool:
        pool.map(_add_police, [(str(city), i) for i in range(30)])
    assert sorted(k.name for k in read_keys_file(city).keys) == sorted(f"officer-{i}" for i in range(30))
