"""The worker's tables (changelog-backed faust state), keyed by plate like every input topic.

``vehicle-loads`` is written by the check-in agent, which takes its events in batches, so it
cannot tie a write to "the current event's partition" as faust does by default; its
changelog partition is chosen by the producer's partitioner on the key instead
(``use_partitioner``), and its key is the plate's UTF-8 bytes (``key_type=bytes``: faust
then writes them raw), which is what every client produces that plate's check-ins,
positions and deliveries with: the table stays co-partitioned with the topics whose agents
read it, and a worker restores exactly the plates it serves. Use :func:`load_of` and
:func:`set_load`, which encode the plate.
"""

from __future__ import annotations

from hazmat.monitor.state import LoadInfo

from . import names
from .app import app

#: the last passed check-in (load verdict) per plate: what it carries and its open flows
vehicle_loads = app.Table(
    "vehicle-loads", default=None, partitions=names.DEFAULT_PARTITIONS, key_type=bytes, use_partitioner=True
)
#: the last permitted route issued per plate (the corridor a vehicle must keep to)
vehicle_routes = app.Table("vehicle-routes", default=None, partitions=names.DEFAULT_PARTITIONS)
#: each vehicle's monitoring state (open conditions, recent pings)
vehicle_monitor = app.Table("vehicle-monitor", default=None, partitions=names.DEFAULT_PARTITIONS)


def load_of(plate: str) -> LoadInfo | None:
    return LoadInfo.from_json(vehicle_loads.get(plate.encode("utf-8")))


def set_load(plate: str, info: LoadInfo) -> None:
    vehicle_loads[plate.encode("utf-8")] = info.to_json()
