"""The project's exceptions, each subclassing the builtin it refines so callers can catch broadly."""

from __future__ import annotations


class ConfigError(ValueError):
    """A city configuration folder is invalid; ``problems`` holds one line per error.

    Each line reads ``file: field.path: message`` so an operator can go straight to the fix.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class RuleInternalError(RuntimeError):
    """A rule function raised; turned into a ``refuse`` finding outside of tests."""
