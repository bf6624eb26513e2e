"""`k0spy worker [TOKEN]`: join this machine as a worker and run containerd and kubelet, as `k0s worker`.

Thin: check the token sources, parse the worker flags, run the pre-flight checks, then the worker role
(`k0spy.roles.worker`) under the daemon. The token is read only when kubelet has no credentials yet; it
is never logged, never shown in `/status` (the positional argument is redacted there) and never passed to
a child (K0S_TOKEN is removed from this process's environment once read).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from k0spy.cli.options import common_options, configure_logging, global_options

TOKEN_ENV = "K0S_TOKEN"
REDACTED = "<redacted>"


def worker_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """k0s's worker flag set (pkg/config/cli.go GetWorkerFlags), shared with `k0spy controller`."""
    options = [
        click.option("--profile", default="default", show_default=True,
                     help="Worker profile to use on the node."),
        click.option("--labels", multiple=True, metavar="K=V,...", help="Node labels (repeatable)."),
        click.option("--taints", multiple=True, metavar="KEY[=VALUE]:EFFECT,...",
                     help="Node taints (repeatable)."),
        click.option("--kubelet-extra-args", default="", metavar="ARGS", help="Extra arguments for kubelet."),
        click.option("--kubelet-root-dir", default=None, metavar="DIR",
                     help="kubelet's root directory [default: DATA/kubelet]."),
        click.option("--cri-socket", default=None, metavar="[remote|docker]:PATH",
                     help="Container runtime socket to use instead of the managed containerd."),
        click.option("--enable-cloud-provider", is_flag=True,
                     help="Run kubelet with --cloud-provider=external."),
        click.option("--iptables-mode", default="", metavar="MODE",
                     help="iptables backend for DATA/bin/iptables*: nft, legacy or auto (detect, as k0s)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def check_single_token_source(token_arg: str | None, token_file: str | None) -> None:
    """k0s CheckSingleTokenSource: at most one of the argument, --token-file and K0S_TOKEN."""
    from k0spy.errors import K0spyError

    sources = sum(1 for source in (token_arg, token_file, os.environ.get(TOKEN_ENV)) if source)
    if sources > 1:
        raise K0spyError("you can only pass one token source: either as a CLI argument, via "
                         f"'--token-file [path]', or via the {TOKEN_ENV} environment variable")


def token_reader(token_arg: str | None, token_file: str | None) -> Callable[[], str | None]:
    """k0s GetTokenData, deferred: the file is read only if a bootstrap needs it."""
    env_value = os.environ.pop(TOKEN_ENV, None) or None

    def read() -> str | None:
        from k0spy.errors import K0spyError

        if token_arg or env_value:
            return token_arg or env_value
        if not token_file:
            return None
        try:
            data = Path(token_file).read_text()
            problem = "is empty" if not data.strip() else ""
        except FileNotFoundError:
            problem = "not found"
        except OSError as err:
            raise K0spyError(f"failed to read token file {token_file}: {err.strerror or err}") from err
        if problem:
            raise K0spyError(f'token file "{token_file}" {problem}',
                             hint='obtain a new token via "k0spy token create --role worker" and store it in '
                                  "the file")
        return data

    return read


def redacted_argv(argv: list[str], token_arg: str | None) -> list[str]:
    return [REDACTED if token_arg and arg == token_arg else arg for arg in argv]


def worker_options(**flags: Any) -> Any:
    from k0spy.roles.worker import WorkerOptions

    flags.pop("kubelet_root_dir", None)
    return WorkerOptions.from_cli(**flags)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("token", required=False, metavar="[JOIN_TOKEN]")
@click.option("--token-file", default=None, metavar="FILE",
              help="Path to the file containing the join token.")
@worker_flags
@click.option("-l", "--logging", default="", metavar="NAME=LEVEL,...",
              help="Log levels of the components, e.g. kubelet=3,containerd=debug.")
@click.option("--ignore-pre-flight-checks", is_flag=True, help="Start even if pre-flight checks fail.")
@click.option("--ready-timeout", default="2m", show_default=True, metavar="DURATION",
              help="How long each component may take to become ready.")
@click.option("--bundle", metavar="FILE", envvar="K0SPY_BUNDLE",
              help="Stage binaries from this bundle (or k0s executable) [env: K0SPY_BUNDLE].")
@common_options
def worker(token: str | None, token_file: str | None, kubelet_root_dir: str | None, ready_timeout: str,
           bundle: str | None, **flags: Any) -> int:
    """Run a worker: containerd and kubelet, joined to a cluster with a join token.

    The token comes from the argument, --token-file or K0S_TOKEN (exactly one); once the node has its
    kubelet credentials (DATA/kubelet.conf) later starts do not need it.
    """
    from k0spy import __version__, daemon
    from k0spy.cli.controller import _duration
    from k0spy.roles.worker import WorkerRequest, build_worker, make_dirs
    from k0spy.status.server import StatusInfo
    from k0spy.sysinfo.runner import preflight

    configure_logging(daemon=True)
    check_single_token_source(token, token_file)
    read_token = token_reader(token, token_file)
    opts = worker_options(kubelet_root_dir=kubelet_root_dir, **flags)
    paths = global_options().paths(kubelet_root_dir=kubelet_root_dir)
    timeout = _duration(ready_timeout, "ready-timeout") or 120.0
    preflight(paths, controller=False, worker=True, lenient=opts.ignore_pre_flight_checks)
    req = WorkerRequest(paths, opts, read_token, Path(bundle) if bundle else None)
    info = StatusInfo(version=__version__, role="worker", k0s_vars=paths.as_k0s_vars(),
                      args=redacted_argv(sys.argv[1:], token), workloads=True)
    make_dirs(paths)
    return daemon.run(paths, [], info, node_config=None, ready_timeout=timeout,
                      prepare=lambda timeline: build_worker(req, timeline))
