"""The pre-loading inspection rules of ``shared/spec/rules.md``, one function per rule.

Find a rule by its id prefix: ``VEH`` in ``vehicle.py``, ``CAR`` in ``carrier.py``,
``PER`` in ``personnel.py``, ``TNK`` in ``tank.py``, ``DOC`` in ``documents.py``, ``OOP``
in ``province.py``; the monitoring rules that live alerts enforce (``ZON``, ``RTE``, ``MOV``,
``SPD``, ``FLW``) in ``monitoring.py``. Nothing here does I/O or reads a clock.
"""

from .catalogue import Rule, all_rules, get, rule_ids
from .context import Blacklist, RuleContext, RuleSettings
from .engine import evaluate
from .monitoring import MonitoringRule, monitoring_rules

__all__ = [
    "Blacklist",
    "MonitoringRule",
    "Rule",
    "RuleContext",
    "RuleSettings",
    "all_rules",
    "evaluate",
    "get",
    "monitoring_rules",
    "rule_ids",
]
