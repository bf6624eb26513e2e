"""The root command: global options, lazy loading of sub-commands, multi-call dispatch, exit codes.

Sub-commands are imported only when invoked, so `k0spy version`, `--help` and shell completion never
import pydantic, cryptography or aiohttp. This is also the one place that turns exceptions into exit
codes: library code raises `K0spyError` and friends and never exits.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from k0spy.cli.options import common_options

# name -> ("module:attribute", one-line help). A command appears here only once it works. The help
# line lives here so that `k0spy --help` lists every command without importing any of them.
COMMANDS: dict[str, tuple[str, str]] = {
    "completion": ("k0spy.cli.completion:completion", "Print the shell completion script."),
    "config": ("k0spy.cli.config:config", "Create and validate k0s.yaml files."),
    "sysinfo": ("k0spy.cli.sysinfo:sysinfo", "Run the pre-flight probes and show the results."),
    "version": ("k0spy.cli.version:version", "Print the k0spy and component versions."),
}

# argv[0] names that make k0spy behave as `k0spy <name>` (a k0spy- prefix is allowed).
MULTI_CALL = ("kubectl", "ctr")


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr = entry[0].split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@common_options
def cli() -> None:
    """k0spy - Zero Friction Kubernetes, supervised in Python."""


def multi_call_argv(argv: list[str]) -> list[str]:
    """Rewrite `kubectl ARGS` / `k0spy-ctr ARGS` (by argv[0]) to `k0spy kubectl ARGS`."""
    name = os.path.basename(argv[0]) if argv else ""
    name = name.removeprefix("k0spy-")
    if name in MULTI_CALL and name in COMMANDS:
        return [name, *argv[1:]]
    return argv[1:]


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; exits with the command's code."""
    from k0spy.errors import K0spyError

    args = multi_call_argv(sys.argv if argv is None else ["k0spy", *argv])
    try:
        result: Any = cli.main(args=args, prog_name="k0spy", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except K0spyError as exc:
        click.echo(exc.render(), err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
