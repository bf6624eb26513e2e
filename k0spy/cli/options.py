"""Options every command shares, accepted both before and after the sub-command name.

k0s puts `--data-dir`, `--config`, `--debug` and friends on every sub-command (`k0s kubeconfig admin
--data-dir X`); k0spy accepts them there and also on the root (`k0spy --data-dir X kubeconfig admin`),
the sub-command's value winning. Both land in one `GlobalOptions` object on the click context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:  # imported where used: `version`, `--help` and completion never build Paths
    from k0spy.paths import Paths

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class GlobalOptions:
    data_dir: str | None = None
    run_dir: str | None = None
    etc_dir: str | None = None
    config: str | None = None
    status_socket: str | None = None
    debug: bool = False
    verbose: bool = False

    def paths(self, *, kubelet_root_dir: str | None = None) -> Paths:
        from k0spy.paths import Paths

        return Paths.build(
            self.data_dir,
            run_dir=self.run_dir,
            etc_dir=self.etc_dir,
            kubelet_root_dir=kubelet_root_dir,
            status_socket=self.status_socket,
        )

    def log_level(self, default: str = "warning") -> str:
        if self.debug:
            return "debug"
        if self.verbose:
            return "info"
        return default


def _store(attr: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is None or value is False:
            return
        setattr(ctx.ensure_object(GlobalOptions), attr, value)

    return callback


_OPTIONS: list[Callable[[F], F]] = [
    click.option(
        "--data-dir", metavar="DIR", envvar="K0SPY_DATA_DIR", show_envvar=True, expose_value=False,
        callback=_store("data_dir"), help="Data directory for k0spy [default: /var/lib/k0s].",
    ),
    click.option(
        "--run-dir", metavar="DIR", envvar="K0SPY_RUN_DIR", show_envvar=True, expose_value=False,
        callback=_store("run_dir"), help="Run directory for pid files and sockets "
        "[default: /run/k0s as root, DATA/run otherwise].",
    ),
    click.option(
        "--etc-dir", metavar="DIR", envvar="K0SPY_ETC_DIR", show_envvar=True, expose_value=False,
        callback=_store("etc_dir"), help="Directory of the default k0s.yaml and containerd.toml "
        "[default: /etc/k0s].",
    ),
    click.option(
        "-c", "--config", metavar="FILE", expose_value=False, callback=_store("config"),
        help="Config file, or - for stdin [default: /etc/k0s/k0s.yaml].",
    ),
    click.option(
        "--status-socket", metavar="PATH", expose_value=False, callback=_store("status_socket"),
        help="Status API socket [default: RUN/status.sock].",
    ),
    click.option("-d", "--debug", is_flag=True, expose_value=False, callback=_store("debug"),
                 help="Debug logging."),
    click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_store("verbose"),
                 help="Verbose (info) logging."),
]


def common_options(func: F) -> F:
    """Add the shared options to a command (or the root group)."""
    for option in reversed(_OPTIONS):
        func = option(func)
    return func


def global_options() -> GlobalOptions:
    """The shared options of the current invocation."""
    return click.get_current_context().ensure_object(GlobalOptions)


def configure_logging(default: str = "warning", *, daemon: bool = False) -> GlobalOptions:
    """Set up structlog for this command: daemons log to stdout (as k0s), other commands to stderr."""
    import sys

    from k0spy import log

    opts = global_options()
    log.configure(opts.log_level("info" if daemon else default), stream=sys.stdout if daemon else sys.stderr)
    return opts
