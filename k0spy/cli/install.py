"""`k0spy install controller|worker [flags]`: run k0spy as a system service (systemd or OpenRC).

Everything after the role that is not one of install's own options is a controller/worker flag and is
kept in the service exactly as given (made `--name=value`, paths made absolute). Thin: the work is in
`k0spy.service.install`.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from k0spy.cli.options import global_options
from k0spy.errors import K0spyError

_SETTINGS = {"ignore_unknown_options": True, "help_option_names": ["-h", "--help"]}
_GLOBAL_FLAGS = (("data_dir", "data-dir"), ("run_dir", "run-dir"), ("etc_dir", "etc-dir"),
                 ("config", "config"), ("status_socket", "status-socket"))


def _global_flags() -> list[str]:
    """Shared options given before `install` (`k0spy --data-dir X install ...`) count as given."""
    opts = global_options()
    words = [f"--{flag}={getattr(opts, attr)}" for attr, flag in _GLOBAL_FLAGS if getattr(opts, attr)]
    words += [f"--{flag}" for flag in ("debug", "verbose") if getattr(opts, flag)]
    return words


def _make(role: str) -> click.Command:
    @click.command(role, context_settings=_SETTINGS,
                   help=f"Install k0spy {role} as a service; FLAGS are k0spy {role}'s flags.")
    @click.option("--force", is_flag=True, help="Reinstall: remove the installed service first.")
    @click.option("-e", "--env", "env", multiple=True, metavar="NAME[=VALUE]",
                  help="Environment for the service (kept in a 0600 file); bare NAME takes its value now.")
    @click.option("--start", is_flag=True, help="Start the service once installed.")
    @click.option("--init-system", type=click.Choice(["auto", "systemd", "openrc"]), default="auto",
                  show_default=True, help="Which init system to install for.")
    @click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/"),
                  show_default=True, help="Install root (like DESTDIR): files, users and links go there.")
    @click.option("--executable", metavar="PATH", help="The k0spy executable the service runs "
                  "[default: this k0spy].")
    @click.argument("flags", nargs=-1, type=click.UNPROCESSED)
    def command(force: bool, env: tuple[str, ...], start: bool, init_system: str, root: Path,
                executable: str | None, flags: tuple[str, ...]) -> None:
        from k0spy.service.install import InstallRequest, install

        if os.geteuid() != 0 and root.resolve() == Path("/"):
            raise K0spyError("install needs root", hint="run it with sudo")
        report = install(InstallRequest(
            role=role, args=[*_global_flags(), *flags], env=env, force=force, start=start,
            init_system=init_system, root=root.absolute(), executable=executable,
        ))
        for line in report.lines:
            click.echo(line)
        click.echo(f"installed {report.name} ({report.init_system}): {report.service_file}")

    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def install() -> None:
    """Install k0spy as a systemd or OpenRC service (k0scontroller / k0sworker)."""


install.add_command(_make("controller"))
install.add_command(_make("worker"))
