"""The per-plate state the agents read and write: three values under one key (the plate).

Quix keeps it (RocksDB per partition, a changelog topic, so a worker that takes over a
partition restores it); the agents only see :class:`PlateState`, so their tests use a dict.

- ``load``: the plate's last passed check-in and its open high-hazard flows
  (:class:`~hazmat.monitor.state.LoadInfo` as JSON), written by its check-ins, read by its
  pings and deliveries;
- ``route`` and ``route_id``: the last permitted route issued to it (id and coordinates) and,
  apart, its id, so a ping knows whether the route it holds decoded is still the plate's;
- ``monitor``: its :class:`~hazmat.monitor.state.VehicleState` as JSON, each recent ping with
  its alert ids; ``sent:<event id>``: the alerts of a recent ping that gave any (for a
  duplicate of it: the same alerts again).
"""

from __future__ import annotations

from typing import Any, Protocol

LOAD, ROUTE, ROUTE_ID, MONITOR = "load", "route", "route_id", "monitor"


class PlateState(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...


class DictState:
    """A plate's state in a dict: for tests and benchmarks of the agents without Kafka."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)
