"""The values a rule may read besides the check-in itself: no clock, no files, no network.

"Today" is the check-in's ``occurred_at`` in the city's time zone, so replaying an event
gives the same verdict whenever it is replayed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

Severity = Literal["refuse", "warn"]
SeverityOverride = Literal["refuse", "warn", "off"]

DEFAULT_TOXIC = frozenset({"UN1689", "UN1680", "UN1051", "UN1076"})
DEFAULT_HIGH_HAZARD = frozenset(
    {
        "UN1942",
        "UN2067",
        "UN2426",  # ammonium nitrate
        "UN2555",
        "UN2556",
        "UN2557",
        "UN0340",
        "UN0341",
        "UN0342",  # nitrocellulose
        "UN1005",  # ammonia
        "UN1017",  # chlorine
        "UN1689",  # sodium cyanide
    }
)


@dataclass(frozen=True)
class Blacklist:
    """Listed values mapped to the reason they were listed (黑名单)."""

    carriers: Mapping[str, str] = field(default_factory=dict)
    plates: Mapping[str, str] = field(default_factory=dict)
    persons: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSettings:
    """Everything configurable about the ruleset; built from ``rules.yaml`` and friends."""

    province: str = "晋"
    timezone: tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    waybill_tolerance: float = 0.02
    toxic_un_numbers: frozenset[str] = DEFAULT_TOXIC
    high_hazard_un_numbers: frozenset[str] = DEFAULT_HIGH_HAZARD
    severities: Mapping[str, SeverityOverride] = field(default_factory=dict)
    blacklist: Blacklist = field(default_factory=Blacklist)
    ruleset_version: str = "2026.11.1"


@dataclass(frozen=True)
class RuleContext:
    """What one evaluation sees: the settings and the check-in's local date."""

    today: date
    settings: RuleSettings
