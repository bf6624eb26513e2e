"""Errors that reach an operator.

Library code raises these and never calls `sys.exit`; `k0spy.cli.main` is the one place that turns them
into a message on stderr and a non-zero exit code. Every error says what was being done and to what
(a file, a field, a value), and may carry a hint saying what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass


class K0spyError(Exception):
    """An error with a message for the operator and an optional hint."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """The text printed on stderr: the message, then the hint on its own line."""
        text = f"Error: {self.message}"
        if self.hint:
            text += f"\nHint: {self.hint}"
        return text


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a configuration file: where it is, what was found and what is allowed."""

    field: str
    message: str
    value: object = None
    has_value: bool = False

    def render(self, source: str) -> str:
        where = f"{source}: {self.field}" if self.field else source
        if self.has_value:
            return f"{where}: {self.message} (got {self.value!r})"
        return f"{where}: {self.message}"


class ConfigError(K0spyError):
    """A configuration that cannot be used; carries every issue found, not only the first."""

    def __init__(self, source: str, issues: list[ConfigIssue], hint: str | None = None) -> None:
        self.source = source
        self.issues = issues
        lines = [issue.render(source) for issue in issues]
        count = len(issues)
        head = f"invalid configuration {source}: {count} error{'s' if count != 1 else ''}"
        super().__init__("\n  ".join([head, *lines]), hint)


class AlreadyRunningError(K0spyError):
    """Another k0spy (or k0s) daemon holds the lock on this data dir's run dir."""


class NotRunningError(K0spyError):
    """A command needs the running daemon and there is none."""
