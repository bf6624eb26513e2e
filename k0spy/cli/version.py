"""`k0spy version`: this release and the component versions it is pinned to."""

from __future__ import annotations

import json
import platform

import click

from k0spy import __version__
from k0spy.pins import COMPONENT_VERSIONS


def version_info() -> dict[str, str]:
    from k0spy.assets.payload import describe, locate_bundle  # reads the file's tail only: cheap

    return {"k0spy": __version__, "python": platform.python_version(), **COMPONENT_VERSIONS,
            "bundle": describe(locate_bundle())}


@click.command()
@click.option("-s", "--short", is_flag=True, help="Print only the k0spy version.")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def version(short: bool, output: str) -> None:
    """Print the k0spy version and the pinned component versions."""
    info = version_info()
    if short:
        click.echo(f"v{__version__}")
    elif output == "json":
        click.echo(json.dumps(info, indent=2))
    else:
        width = max(len(name) for name in info)
        for name, value in info.items():
            prefix = "" if name in ("python", "bundle") else "v"
            click.echo(f"{name + ':':<{width + 1}} {prefix}{value}")
