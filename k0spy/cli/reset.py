"""`k0spy reset`: remove everything k0spy put on this node; `--dry-run` lists it and changes nothing.

Thin: the steps live in `k0spy.service.reset`. Exit code 1 when a step failed or something was left.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from k0spy.cli.options import common_options, global_options
from k0spy.errors import K0spyError


def _user_names(config: str | None, etc_dir: Path) -> tuple[list[str], str | None]:
    """The controller's users from the config; a config that cannot be read only warns (as in k0s)."""
    from k0spy.service.users import controller_users

    try:
        from k0spy.config.load import load_cluster_config

        loaded = load_cluster_config(config, default_path=etc_dir / "k0s.yaml")
    except K0spyError as err:
        return [], f"warning: not deleting users: {err.message}"
    return controller_users(loaded.config.spec.install_config.users), None


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@common_options
@click.option("--dry-run", is_flag=True, help="List what would be removed; change nothing.")
@click.option("--kubelet-root-dir", metavar="DIR", help="Kubelet root dir [default: DATA/kubelet].")
@click.option("--init-system", type=click.Choice(["auto", "systemd", "openrc"]), default="auto",
              show_default=True, help="Which init system's service to remove.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/"),
              show_default=True, help="Install root the service and users were installed into.")
def reset(dry_run: bool, kubelet_root_dir: str | None, init_system: str, root: Path) -> int:
    """Stop and remove containers, mounts, data, users and the service of this node."""
    from k0spy.service.reset import ResetOptions, plan
    from k0spy.service.reset import reset as run_reset

    opts = global_options()
    if os.geteuid() != 0:
        raise K0spyError("reset needs root", hint="run it with sudo")
    paths = opts.paths(kubelet_root_dir=kubelet_root_dir)
    users, warning = _user_names(opts.config, paths.etc_dir)
    if warning:
        click.echo(warning, err=True)
    options = ResetOptions(paths=paths, root=root.absolute(), init_system=init_system, user_names=users)
    if dry_run:
        for line in plan(options):
            click.echo(line)
        return 0
    report = run_reset(options)
    click.echo(report.render())
    return 0 if report.ok else 1
