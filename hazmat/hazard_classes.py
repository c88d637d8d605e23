"""Hazard classes and divisions (GB 6944 / UN): when a listed class covers a load's class.

One definition for the permit's scope (VEH-002), a zone's ``applies_to`` and the map's
``hazmat:<class>=no``.
"""

from __future__ import annotations

from collections.abc import Iterable


def covers(entries: Iterable[str], hazard_class: str) -> bool:
    """An entry covers itself and, when it is a whole class (``"2"``), its divisions (``"2.3"``)."""
    whole = hazard_class.partition(".")[0]
    return any(e in (hazard_class, whole) for e in entries)
