"""`k0spy version`: this release and the component versions it is pinned to.

Plain `k0spy version` never reaches this module (see `FAST_PATHS` in k0spy.cli.main); this is the click
command for everything else (`-o json`, `--help`, options mixed with global ones).
"""

from __future__ import annotations

import click

from k0spy.cli.versioninfo import render


@click.command()
@click.option("-s", "--short", is_flag=True, help="Print only the k0spy version.")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def version(short: bool, output: str) -> None:
    """Print the k0spy version and the pinned component versions."""
    click.echo(render("short" if short else output), nl=False)
