"""Which controller/worker flags a service keeps, and how they are written into it.

k0s keeps only the flags given explicitly on `k0s install controller ...`, each as `--name=value`, makes
the path flags absolute (the service does not run in the installer's working directory), refuses a
positional join token (it would sit in a world-readable unit: use `--token-file`) and drops the
installer's own flags. When `k0spy.cli.controller` / `k0spy.cli.worker` exist, the flags are parsed by
that very click command, so a typo fails at install time rather than at the service's first start;
until then a generic parser that knows k0s's boolean flags stands in.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from typing import Any

from k0spy.errors import K0spyError

PATH_FLAGS = frozenset({"data-dir", "kubelet-root-dir", "token-file", "config", "run-dir", "etc-dir",
                        "status-socket"})
DROPPED_FLAGS = frozenset({"env", "force", "start"})
SHORT_FLAGS = {"c": "config", "d": "debug", "v": "verbose", "e": "env"}
# k0s controller/worker flags that take no value (used only while no click command exists to ask).
BOOLEAN_FLAGS = frozenset({
    "debug", "verbose", "single", "enable-worker", "no-taints", "enable-cloud-provider",
    "enable-k0s-cloud-provider", "enable-dynamic-config", "enable-metrics-scraper", "init-only",
    "ignore-pre-flight-checks", "force", "start",
})

Flag = tuple[str, str]  # (name without dashes, value)


def _positional_error(token: str) -> K0spyError:
    shown = token if len(token) <= 24 else token[:20] + "..."
    return K0spyError(f"positional argument {shown!r} is not accepted by install",
                      hint="put a join token in a file and pass --token-file FILE")


def generic_flags(args: Sequence[str]) -> list[Flag]:
    """Parse `--name=value`, `--name value`, `--bool`, `-c FILE` without knowing the command."""
    flags: list[Flag] = []
    rest = list(args)
    while rest:
        token = rest.pop(0)
        if token == "--" or not token.startswith("-") or token == "-":
            raise _positional_error(rest[0] if token == "--" and rest else token)
        body = token[2:] if token.startswith("--") else token[1:]
        name, eq, value = body.partition("=")
        name = SHORT_FLAGS.get(name, name) if not token.startswith("--") else name
        if not eq:
            if name in BOOLEAN_FLAGS:
                value = "true"
            elif rest and not (rest[0].startswith("-") and rest[0] != "-"):
                value = rest.pop(0)
            else:
                raise K0spyError(f"flag --{name} needs a value", hint=f"write --{name}=VALUE")
        flags.append((name, value))
    return flags


def _render_value(value: Any) -> list[str]:
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, list | tuple):
        return [item for v in value for item in _render_value(v)]
    return [str(value)]


def _given(value: Any) -> bool:
    """A value the parser actually read (click marks absent arguments with a sentinel)."""
    if isinstance(value, list | tuple):
        return bool(value)
    return isinstance(value, str | bool | int | float)


def click_flags(command: Any, args: Sequence[str]) -> list[Flag]:
    """Parse with the real click command; only options present on the command line come back."""
    import click

    ctx = click.Context(command, info_name=command.name, resilient_parsing=False)
    parser = command.make_parser(ctx)
    try:
        values, largs, order = parser.parse_args(args=list(args))
    except click.UsageError as err:
        raise K0spyError(f"{command.name} flags: {err.format_message()}",
                         hint=f"see k0spy {command.name} --help") from err
    if largs:
        raise _positional_error(str(largs[0]))
    flags: list[Flag] = []
    seen: set[str] = set()
    for param in order:
        if param.name in seen or not _given(values.get(param.name)):
            continue
        seen.add(param.name)
        if not isinstance(param, click.Option):
            raise _positional_error(str(values[param.name]))
        longs = [opt for opt in param.opts if opt.startswith("--")]
        name = (longs[0] if longs else param.opts[0]).lstrip("-")
        flags.extend((name, v) for v in _render_value(values[param.name]))
    return flags


def role_command(role: str) -> Any | None:
    """`k0spy.cli.<role>:<role>` once it exists, else None (the generic parser stands in)."""
    module_name = f"k0spy.cli.{role}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name == module_name:
            return None
        raise
    return getattr(module, role, None)


def service_flags(role: str, args: Sequence[str], *, cwd: str | None = None,
                  command: Any | None = None) -> list[str]:
    """The `--name=value` words a service keeps, path flags absolute, installer flags dropped."""
    command = command if command is not None else role_command(role)
    parsed = click_flags(command, args) if command is not None else generic_flags(args)
    base = cwd or os.getcwd()
    words = []
    for name, value in parsed:
        if name in DROPPED_FLAGS:
            continue
        if name in PATH_FLAGS:
            if value == "-":
                raise K0spyError(f"--{name}=- (stdin) cannot be used by a service",
                                 hint=f"pass --{name} a file path")
            value = os.path.normpath(os.path.join(base, value))
        words.append(f"--{name}={value}")
    return words


def flag_value(words: Sequence[str], name: str) -> str | None:
    """The last value of `--name=` in rendered words (later flags win, as in click)."""
    found = None
    for word in words:
        if word.startswith(f"--{name}="):
            found = word.split("=", 1)[1]
    return found
