"""The rule registry: every inspection rule with its id, severity, field, basis and messages.

A rule is a plain generator from ``(checkin, ctx)`` to :class:`Hit`; the decorator
:func:`rule` stores it here with its metadata. The catalogue turns hits into findings,
skips rules whose required part is missing ("a rule about a part that is missing does
not fire") and keeps at most one finding per field path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hazmat.events import CheckIn, Finding

from .context import RuleContext, Severity

Check = Callable[[CheckIn, RuleContext], Iterable["Hit"]]


@dataclass(frozen=True)
class Hit:
    """One way a rule failed: which message, on which field, with which values."""

    reason: str
    field: str | None = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def hit(reason: str, field: str | None = None, **params: Any) -> Hit:
    """Shorthand used inside rules: ``yield hit("expired", date=permit.valid_until)``."""
    return Hit(reason, field, params)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    part: str
    field: str
    requires: tuple[str, ...]
    basis: str
    summary_zh: str
    summary_en: str
    messages: Mapping[str, tuple[str, str]]
    check: Check

    def applies(self, checkin: CheckIn) -> bool:
        """False when a part this rule inspects is absent: another rule reports that."""
        return all(_resolve(checkin, path) is not None for path in self.requires)

    def findings(self, checkin: CheckIn, ctx: RuleContext, severity: Severity) -> list[Finding]:
        if not self.applies(checkin):
            return []
        out: dict[str, Finding] = {}
        for h in self.check(checkin, ctx):
            path = h.field or self.field
            if path in out:
                continue
            zh, en = self.messages[h.reason]
            params = {k: _show(v) for k, v in h.params.items()}
            out[path] = Finding(
                rule_id=self.id,
                severity=severity,
                field=path,
                message_zh=zh.format(**params),
                message_en=en.format(**params),
                basis=self.basis,
            )
        return list(out.values())


_REGISTRY: dict[str, Rule] = {}


def rule(
    rule_id: str,
    *,
    severity: Severity,
    field: str,
    basis: str,
    summary_zh: str,
    summary_en: str,
    messages: Mapping[str, tuple[str, str]],
    requires: tuple[str, ...] = (),
) -> Callable[[Check], Check]:
    """Register the decorated check as rule ``rule_id``; a duplicate id fails at import."""

    def register(check: Check) -> Check:
        if rule_id in _REGISTRY:
            msg = (
                f"rule id {rule_id} is registered twice ({_REGISTRY[rule_id].check.__qualname__}, {check.__qualname__})"
            )
            raise ValueError(msg)
        _REGISTRY[rule_id] = Rule(
            id=rule_id,
            severity=severity,
            part=check.__module__.rsplit(".", 1)[-1],
            field=field,
            requires=requires,
            basis=basis,
            summary_zh=summary_zh,
            summary_en=summary_en,
            messages=messages,
            check=check,
        )
        return check

    return register


def all_rules() -> Iterator[Rule]:
    """Every registered rule, in id order (the order findings are reported in)."""
    for rule_id in sorted(_REGISTRY):
        yield _REGISTRY[rule_id]


def get(rule_id: str) -> Rule:
    try:
        return _REGISTRY[rule_id]
    except KeyError:
        msg = f"no rule {rule_id!r}; known ids: {', '.join(sorted(_REGISTRY))}"
        raise KeyError(msg) from None


def rule_ids() -> list[str]:
    return sorted(_REGISTRY)


def _resolve(obj: Any, path: str) -> Any:
    for name in path.split("."):
        if obj is None:
            return None
        obj = getattr(obj, name)
    return obj


def _show(value: Any) -> str:
    """Render a message parameter: dates as ISO, whole kilograms without ``.0``."""
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else f"{value:g}"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_show(v) for v in value)
    return str(value)
