"""`k0spy start` and `k0spy stop`: the installed service (k0scontroller first, then k0sworker).

As in k0s these answer "already running" / "already stopped" instead of doing nothing silently. The
daemon's own `k0spy status` reads the status socket; the service state is reported here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from k0spy.errors import K0spyError

F = Callable[..., Any]


def _options(func: F) -> F:
    func = click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/"),
                        show_default=True, help="Install root the service was installed into.")(func)
    return click.option("--init-system", type=click.Choice(["auto", "systemd", "openrc"]), default="auto",
                        show_default=True, help="Which init system manages the service.")(func)


def _installed(init_system: str, root: Path) -> tuple[Any, str]:
    from k0spy.service.description import SERVICE_NAMES
    from k0spy.service.initsys import choose

    if os.geteuid() != 0:
        raise K0spyError("managing the k0spy service needs root", hint="run it with sudo")
    init = choose(init_system, root.absolute())
    for name in (SERVICE_NAMES["controller"], SERVICE_NAMES["worker"]):
        if init.is_installed(name):
            return init, name
    raise K0spyError(f"k0spy is not installed as a {init.kind} service",
                     hint="install it first: k0spy install controller (or worker)")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@_options
def start(init_system: str, root: Path) -> None:
    """Start the installed k0spy service."""
    from k0spy.service.initsys import State

    init, name = _installed(init_system, root)
    if init.state(name) is State.RUNNING:
        raise K0spyError(f"{name} is already running")
    init.start(name)
    click.echo(f"started {name}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@_options
def stop(init_system: str, root: Path) -> None:
    """Stop the installed k0spy service."""
    from k0spy.service.initsys import State

    init, name = _installed(init_system, root)
    if init.state(name) is State.STOPPED:
        raise K0spyError(f"{name} is already stopped")
    init.stop(name)
    click.echo(f"stopped {name}")
