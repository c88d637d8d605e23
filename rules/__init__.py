"""The pre-loading inspection rules of ``shared/spec/rules.md``, one function per rule.

Find a rule by its id prefix: ``VEH`` in ``vehicle.py``, ``CAR`` in ``carrier.py``,
``PER`` in ``personnel.py``, ``TNK`` in ``tank.py``, ``DOC`` in ``documents.py``, ``OOP``
in ``province.py``. Nothing here does I/O or reads a clock.
"""

from .catalogue import Rule, all_rules, get, rule_ids
from .context import Blacklist, RuleContext, RuleSettings
from .engine import evaluate

__all__ = [
    "Blacklist",
    "Rule",
    "RuleContext",
    "RuleSettings",
    "all_rules",
    "evaluate",
    "get",
    "rule_ids",
]
