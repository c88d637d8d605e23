"""The worker's own settings, read from the environment (``HAZMAT_<NAME>``) when it starts.

The city's settings live in its folder (``city.yaml``); these are the deployment's: how many
partitions new topics get, the processing guarantee, how often a checkpoint commits, where
the per-vehicle state is kept. ``hazmat config docs`` lists them (``docs/configuration.md``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hazmat.paths import data_root

from .names import DEFAULT_PARTITIONS

ENV_PREFIX = "HAZMAT_"


class WorkerSettings(BaseModel):
    """The stream worker (`hazmat worker`), from environment variables named `HAZMAT_<KEY>` (upper case)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    partitions: int = Field(
        DEFAULT_PARTITIONS,
        ge=1,
        le=1000,
        description="partitions of each topic the worker or `hazmat broker start` creates (existing topics keep "
        "theirs); sized for a province: workers share the partitions, so more workers than partitions idle",
    )
    processing_guarantee: Literal["at-least-once", "exactly-once"] = Field(
        "at-least-once",
        description="`exactly-once` commits outputs, state and offsets in one Kafka transaction per checkpoint; "
        "readers must then read `read_committed`, and outputs wait up to `HAZMAT_COMMIT_INTERVAL_S`",
    )
    commit_interval_s: float = Field(
        0.25, gt=0, description="seconds between checkpoints: archive batch, state, offsets (and the transaction)"
    )
    state_dir: str | None = Field(
        None,
        description="folder of the per-vehicle state (RocksDB, rebuilt from its changelog topic when lost); "
        "default `state/` in the data folder (`~/.local/share/hazmat-checker/state`)",
    )
    poll_timeout_s: float = Field(
        0.001,
        gt=0,
        description="how long one read of the input topics waits while messages are buffered (bounds the latency "
        "of ordered reads)",
    )
    idle_poll_s: float = Field(
        0.1,
        gt=0,
        description="how long one read waits when nothing is buffered; it returns as soon as a message comes, so "
        "this bounds only how late an idle worker notices a stop or a due checkpoint",
    )
    overdue_check_s: float = Field(10.0, gt=0, description="seconds between two looks for overdue high-hazard flows")
    prepare_every_s: float = Field(
        30.0,
        gt=0,
        description="seconds between two looks ahead at the zone windows: the router customises, in the background, "
        "the states the windows bring within `HAZMAT_PREPARE_HORIZON_S` for the load classes in use",
    )
    prepare_horizon_s: float = Field(
        180.0,
        gt=0,
        description="how far ahead (seconds) the router prepares the states a window boundary or an arriving pass "
        "brings; longer than `HAZMAT_PREPARE_EVERY_S` plus a move's time (up to about 1 s at a million nodes, "
        "seconds when a pool grows)",
    )

    def state_path(self) -> str:
        return self.state_dir or str(data_root() / "state")


class WorkerSettingsError(ValueError):
    """An environment variable the worker cannot use; the message names it."""


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def from_env(environ: Mapping[str, str] | None = None) -> WorkerSettings:
    """The settings from ``environ`` (default ``os.environ``); an empty variable means the default."""
    env = os.environ if environ is None else environ
    values = {name: env[env_name(name)] for name in WorkerSettings.model_fields if env.get(env_name(name))}
    try:
        return WorkerSettings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{env_name(str(e['loc'][0]))}: {e['msg']}" for e in exc.errors())
        raise WorkerSettingsError(problems) from None
