"""The worker as it was before its state kept alert ids: each recent ping with its whole alerts, for benchmarks only.

``hazmat worker`` with :class:`hazmat.streams.agents.positions.Positions`' three state methods
replaced by the earlier ones (the whole :class:`~hazmat.monitor.state.VehicleState` read and
written per ping; a duplicate ping answered by the monitor from it), so ``bench_engines``
measures both in one run (``worker-full-state`` against ``worker``). Nothing in the
production worker changes.

    KAFKA_BOOTSTRAP_SERVERS=… HAZMAT_TOPIC_PREFIX=… python benchmarks/engines/full_state.py
"""

from __future__ import annotations

from typing import Any

from hazmat.events import Alert
from hazmat.monitor.state import VehicleState
from hazmat.streams.agents import positions
from hazmat.streams.state import MONITOR, PlateState


def monitor_of(plate: str, st: PlateState) -> VehicleState:
    return VehicleState.from_json(st.get(MONITOR), plate)


def sent_before(event_id: str, state: VehicleState, st: PlateState) -> list[Alert] | None:
    return None  # judge_position answers a duplicate from the whole state


def keep(before: VehicleState, after: VehicleState, event_id: str, alerts: list[Alert], st: PlateState) -> None:
    st.set(MONITOR, after.to_json())


def main() -> None:
    patched: dict[str, Any] = {"monitor_of": monitor_of, "sent_before": sent_before, "keep": keep}
    for name, function in patched.items():
        setattr(positions.Positions, name, staticmethod(function))
    from hazmat.cli import app

    app(args=["worker"])


if __name__ == "__main__":
    main()
