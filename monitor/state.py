"""What the monitor remembers per vehicle, as plain JSON-able values (the worker's per-plate state keeps it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from hazmat.events import CheckIn, Verdict


@dataclass
class VehicleState:
    """One vehicle's monitoring state; ``open`` maps a lasting condition to the ping that raised it."""

    plate: str
    off_route: int = 0
    open: dict[str, str] = field(default_factory=dict)
    #: the newest pings handled, oldest first, each with the alerts it gave as JSON-mode dicts (re-sent on
    #: redelivery; dicts, not JSON strings, so the table's changelog does not escape them a second time)
    recent: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    last_at_s: float | None = None
    #: consecutive pings a condition counted in pings has held, e.g. ``area:<zone id>``: off a designated
    #: area's roads (a condition absent from it held at no ping)
    streaks: dict[str, int] = field(default_factory=dict)

    RECENT: ClassVar[int] = 64  # more than a worker can have handled but not committed (commits are every second)

    def remember(self, event_id: str, alerts: list[dict[str, Any]], at_s: float) -> None:
        self.recent[event_id] = alerts
        while len(self.recent) > self.RECENT:
            self.recent.pop(next(iter(self.recent)))
        self.last_at_s = at_s if self.last_at_s is None else max(self.last_at_s, at_s)

    def to_json(self) -> dict[str, Any]:
        # shallow on purpose: this runs for every ping and the table encodes it at once
        # (dataclasses.asdict deep-copied every remembered alert and was ~8 % of a worker's time)
        return {
            "plate": self.plate,
            "off_route": self.off_route,
            "open": self.open,
            "recent": self.recent,
            "last_at_s": self.last_at_s,
            "streaks": self.streaks,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None, plate: str) -> VehicleState:
        if not data:
            return cls(plate=plate)
        recent = {
            event_id: [json.loads(a) if isinstance(a, str) else a for a in alerts]  # JSON strings: an earlier version
            for event_id, alerts in data.get("recent", {}).items()
        }
        return cls(**{**data, "recent": recent})


@dataclass(frozen=True)
class LoadInfo:
    """The last ``load`` verdict of a plate: when, what it carries (for ``applies_to``), open flows.

    ``flows`` are the high-hazard flow ids still open for the plate (this load's and any
    earlier undelivered ones); ``tracked_at_s`` is when the last flow track point was kept.
    """

    decided_at_s: float
    classes: tuple[str, ...]
    un_numbers: tuple[str, ...]
    flows: tuple[str, ...] = ()
    tracked_at_s: float | None = None

    @classmethod
    def after_load(
        cls, checkin: CheckIn, verdict: Verdict, opened: Sequence[str], earlier: LoadInfo | None
    ) -> LoadInfo:
        """A plate's load info after a ``load`` verdict: what it carries now, its flows still open.

        ``opened`` are the flows this load opened; flows of earlier loads stay open until
        they are delivered or arrive (a vehicle may reload before its last delivery is reported).
        """
        still_open = [f for f in (earlier.flows if earlier else ()) if f not in opened]
        return cls(
            decided_at_s=verdict.decided_at.timestamp(),
            classes=tuple(sorted({i.hazard_class for i in checkin.load})),
            un_numbers=tuple(sorted({i.un_number for i in checkin.load})),
            flows=(*still_open, *opened),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "decided_at_s": self.decided_at_s,
            "classes": list(self.classes),
            "un_numbers": list(self.un_numbers),
            "flows": list(self.flows),
            "tracked_at_s": self.tracked_at_s,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> LoadInfo | None:
        if not data:
            return None
        return cls(
            data["decided_at_s"],
            tuple(data["classes"]),
            tuple(data["un_numbers"]),
            tuple(data.get("flows", ())),
            data.get("tracked_at_s"),
        )
