"""docker-compose.yml cannot run here (no Docker engine): keep it in step with the code instead."""

from __future__ import annotations

import re
import shlex
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from hazmat import broker
from hazmat.cli import app as cli_app
from hazmat.streams import names
from hazmat.streams.settings import WorkerSettings
from tests.helpers import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
WORKERS = [name for name in SERVICES if name.startswith("worker")]
DEFAULT_PARTITIONS = WorkerSettings().partitions
#: the environment variables the code reads (streams.bootstrap, streams.names, hazmat.cityconfig)
CODE_ENV = {"KAFKA_BOOTSTRAP_SERVERS", "HAZMAT_TOPIC_PREFIX", "HAZMAT_ARCHIVE", "HAZMAT_CITY"}


def test_services():
    assert {"kafka", "topics", "postgres", "api"} <= set(SERVICES)
    assert WORKERS == ["worker"]


def test_the_worker_scales_up_to_the_partitions():
    """One service, run as several replicas (`--scale worker=N` too): they share the partitions."""
    replicas = SERVICES["worker"]["deploy"]["replicas"]
    assert 2 <= replicas <= DEFAULT_PARTITIONS
    assert "container_name" not in SERVICES["worker"]  # a fixed name would forbid a second replica
    assert "ports" not in SERVICES["worker"]
    assert "--scale worker=" in (REPO / "docker-compose.yml").read_text(encoding="utf-8")


def test_the_api_serves_with_the_workers_environment():
    api = SERVICES["api"]
    assert api["command"][:2] == ["hazmat", "serve"]
    assert "serve" in {c.name or c.callback.__name__ for c in cli_app.registered_commands if c.callback}
    assert api["environment"] == SERVICES[WORKERS[0]]["environment"]
    port = api["command"][api["command"].index("--port") + 1]
    assert api["ports"] == [f"{port}:{port}"]
    assert "/healthz" in " ".join(api["healthcheck"]["test"])


def test_kafka_image_is_the_version_the_tests_run_against():
    for name in ("kafka", "topics"):
        assert SERVICES[name]["image"] == f"apache/kafka:{broker.KAFKA_VERSION}"


def test_kafka_runs_in_kraft_mode_with_a_healthcheck():
    env = SERVICES["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@kafka:")
    assert "healthcheck" in SERVICES["kafka"]
    assert "healthcheck" in SERVICES["postgres"]


def _created_topics() -> dict[str, dict[str, str]]:
    script = SERVICES["topics"]["command"][0]
    topics: dict[str, dict[str, str]] = {}
    for line in script.splitlines():
        words = shlex.split(line.strip())
        if not words or words[0] != "create":
            continue
        opts = dict(zip(words[1::2], words[2::2], strict=True))
        config = dict(
            c.split("=", 1) for c in [v for k, v in zip(words[1::2], words[2::2], strict=True) if k == "--config"]
        )
        assert opts["--partitions"] == str(DEFAULT_PARTITIONS)
        topics[opts["--topic"]] = config
    return topics


def test_topics_match_the_code():
    assert _created_topics() == {spec.name(""): spec.config for spec in names.ALL}
    assert SERVICES["kafka"]["environment"]["KAFKA_NUM_PARTITIONS"] == DEFAULT_PARTITIONS
    assert names.DEFAULT_PARTITIONS == DEFAULT_PARTITIONS


@pytest.mark.parametrize("worker", WORKERS)
def test_workers_use_the_code_s_environment_and_command(worker):
    service = SERVICES[worker]
    assert service["command"] == ["hazmat", "worker"]
    assert "worker" in {c.name or c.callback.__name__ for c in cli_app.registered_commands if c.callback}
    env = service["environment"]
    assert set(env) == CODE_ENV
    host, _, port = env["KAFKA_BOOTSTRAP_SERVERS"].partition(":")
    assert host in SERVICES
    assert f"PLAINTEXT://{host}:{port}" in SERVICES[host]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert env["HAZMAT_TOPIC_PREFIX"] == ""


def _city_mount(service: dict[str, Any]) -> str:
    """The host folder mounted where the service's ``HAZMAT_CITY`` points (fails when none is)."""
    city = service["environment"]["HAZMAT_CITY"]
    assert city.startswith("/"), f"HAZMAT_CITY {city!r}: a bundled city has no keys; mount the operator's folder"
    mounts = [v.split(":") for v in service.get("volumes", []) if isinstance(v, str)]
    [host] = [m[0] for m in mounts if m[1] == city]
    return host


@pytest.mark.parametrize("service", ["api", *WORKERS])
def test_the_city_folder_is_a_mounted_volume_made_as_the_readme_says(service):
    host = _city_mount(SERVICES[service])
    assert host.startswith("./")
    folder = host.removeprefix("./")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"hazmat config init {folder} --from " in readme
    assert f"hazmat keys add --config {folder} --role police" in readme
    assert f"hazmat keys add --config {folder} --role police" in (REPO / "docker-compose.yml").read_text(
        encoding="utf-8"
    )
    assert not (REPO / folder).resolve().is_relative_to((REPO / "config").resolve())  # never a bundled template


@pytest.mark.parametrize("worker", WORKERS)
def test_workers_archive_in_the_compose_postgres(worker):
    url = urlparse(SERVICES[worker]["environment"]["HAZMAT_ARCHIVE"])
    pg = SERVICES["postgres"]["environment"]
    assert url.scheme == "postgresql"
    assert url.hostname in SERVICES
    assert (url.username, url.password, url.path.lstrip("/")) == (
        pg["POSTGRES_USER"],
        pg["POSTGRES_PASSWORD"],
        pg["POSTGRES_DB"],
    )
    assert set(SERVICES[worker]["depends_on"]) == {"kafka", "topics", "postgres"}


def test_dockerfile_copies_every_package_and_the_config():
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY (\S+) ", dockerfile, flags=re.M))
    assert {"hazmat", "rules", "routing", "streams", "monitor", "api", "config"} <= copied
