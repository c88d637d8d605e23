"""What the monitor remembers per vehicle, as plain JSON-able values (faust tables keep it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


@dataclass
class VehicleState:
    """One vehicle's monitoring state; ``open`` maps a lasting condition to the ping that raised it."""

    plate: str
    off_route: int = 0
    open: dict[str, str] = field(default_factory=dict)
    #: the newest pings handled, oldest first, each with the alerts it gave (re-sent on redelivery)
    recent: dict[str, list[str]] = field(default_factory=dict)
    last_at_s: float | None = None

    RECENT: ClassVar[int] = 64  # more than a worker can have handled but not committed (commits are every second)

    def remember(self, event_id: str, alerts: list[str], at_s: float) -> None:
        self.recent[event_id] = alerts
        while len(self.recent) > self.RECENT:
            self.recent.pop(next(iter(self.recent)))
        self.last_at_s = at_s if self.last_at_s is None else max(self.last_at_s, at_s)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None, plate: str) -> VehicleState:
        if not data:
            return cls(plate=plate)
        return cls(**data)


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
