"""The rule registry: every inspection rule with its id, severity, field, basis and messages.

A rule is a plain generator from ``(checkin, ctx)`` to :class:`Hit`; the decorator
:func:`rule` stores it here with its metadata. The catalogue turns hits into findings,
skips rules whose required part is missing ("a rule about a part that is missing does
not fire") and keeps at most one finding per field path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from hazmat.events import CheckIn, Finding

from .context import RuleContext, Severity

Check = Callable[[CheckIn, RuleContext], Iterable["Hit"]]


class Hit(NamedTuple):
    """One way a rule failed: which message, on which field, with which values."""

    reason: str
    field: str | None
    params: Mapping[str, Any]


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

    def __post_init__(self) -> None:
        # the required parts as attribute-name chains, split once (evaluation is a hot path)
        object.__setattr__(self, "_required", tuple(tuple(path.split(".")) for path in self.requires))

    def applies(self, checkin: CheckIn) -> bool:
        """False when a part this rule inspects is absent: another rule reports that."""
        for names in self._required:  # type: ignore[attr-defined]
            obj: Any = checkin
            for name in names:
                obj = getattr(obj, name)
                if obj is None:
                    return False
        return True

    def findings(self, checkin: CheckIn, ctx: RuleContext, severity: Severity) -> list[Finding]:
        """Run the rule: no findings when it holds or does not apply."""
        if self.requires and not self.applies(checkin):
            return []
        return self.to_findings(self.check(checkin, ctx), severity)

    def to_findings(self, hits: Iterable[Hit], severity: Severity) -> list[Finding]:
        """Turn hits into findings with their messages, keeping one per field path."""
        out: dict[str, Finding] = {}
        for h in hits:
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
_ORDERED: list[Rule] = []  # _REGISTRY's values in id order, rebuilt on each registration


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
        _ORDERED[:] = [_REGISTRY[i] for i in sorted(_REGISTRY)]
        return check

    return register


def all_rules() -> Iterator[Rule]:
    """Every registered rule, in id order (the order findings are reported in)."""
    return iter(_ORDERED)


def replace(new: Rule) -> Rule:
    """Swap in another version of a registered rule and return the old one (for tests)."""
    old = get(new.id)
    _REGISTRY[new.id] = new
    _ORDERED[:] = [_REGISTRY[i] for i in sorted(_REGISTRY)]
    return old


def get(rule_id: str) -> Rule:
    try:
        return _REGISTRY[rule_id]
    except KeyError:
        msg = f"no rule {rule_id!r}; known ids: {', '.join(sorted(_REGISTRY))}"
        raise KeyError(msg) from None


def rule_ids() -> list[str]:
    return sorted(_REGISTRY)


def _show(value: Any) -> str:
    """Render a message parameter: dates as ISO, whole kilograms without ``.0``."""
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else f"{value:g}"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_show(v) for v in value)
    return str(value)
