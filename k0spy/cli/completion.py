"""`k0spy completion bash|zsh|fish`: the shell completion script, as click generates it."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    bash: source <(k0spy completion bash)
    zsh:  k0spy completion zsh > "${fpath[1]}/_k0spy"
    fish: k0spy completion fish > ~/.config/fish/completions/k0spy.fish
    """
    from k0spy.cli.root import cli

    comp_cls = get_completion_class(shell)
    assert comp_cls is not None
    click.echo(comp_cls(cli, {}, "k0spy", "_K0SPY_COMPLETE").source())
