"""`k0spy ctr ...`: containerd's own CLI, pointed at the containerd k0spy runs.

As `k0s ctr`: every argument goes to `ctr` untouched, with two defaults added in front: `--address
RUN/containerd.sock` and `--namespace k8s.io` (where kubelet's images and containers live). A default is
left out when the caller gives that option (`-a/--address`, `-n/--namespace`, before the sub-command) or
its environment variable (`CONTAINERD_ADDRESS`, `CONTAINERD_NAMESPACE`), as ctr's own precedence would have
it. The staged `DATA/bin/ctr` is used when present, else `ctr` on PATH; DATA/bin is put first on PATH. The
process is replaced by ctr (exit code, signals and the terminal are ctr's). k0spy's own options go before
`ctr`: `k0spy --run-dir R ctr images ls`, or through K0SPY_DATA_DIR / K0SPY_RUN_DIR.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

ADDRESS_FLAGS = ("-a", "--address")
NAMESPACE_FLAGS = ("-n", "--namespace")
DEFAULT_NAMESPACE = "k8s.io"


def _given(args: Sequence[str], names: tuple[str, ...]) -> bool:
    """Whether a global option is among the arguments before the sub-command."""
    for arg in args:
        if not arg.startswith("-"):
            return False
        if arg in names or any(arg.startswith(f"{name}=") for name in names):
            return True
    return False


def ctr_argv(binary: str, args: Sequence[str], socket: Path, env: Mapping[str, str]) -> list[str]:
    """`binary [--address S] [--namespace k8s.io] ARGS`; pure."""
    argv = [binary]
    if not _given(args, ADDRESS_FLAGS) and not env.get("CONTAINERD_ADDRESS"):
        argv += ["--address", str(socket)]
    if not _given(args, NAMESPACE_FLAGS) and not env.get("CONTAINERD_NAMESPACE"):
        argv += ["--namespace", DEFAULT_NAMESPACE]
    return argv + list(args)


def find_binary(bin_dir: Path, path_env: str) -> str | None:
    staged = bin_dir / "ctr"
    if os.access(staged, os.X_OK):
        return str(staged)
    return shutil.which("ctr", path=path_env)


@click.command(
    "ctr",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                      "allow_interspersed_args": False},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def ctr(args: tuple[str, ...]) -> None:
    """containerd's CLI against k0spy's containerd (namespace k8s.io)."""
    from k0spy.cli.options import global_options
    from k0spy.errors import K0spyError

    paths = global_options().paths()
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(p for p in (str(paths.bin_dir), env.get("PATH", "")) if p)
    binary = find_binary(paths.bin_dir, env["PATH"])
    if binary is None:
        raise K0spyError("ctr not found in DATA/bin nor on PATH", hint="install containerd")
    argv = ctr_argv(binary, args, paths.containerd_socket, env)
    try:
        os.execve(binary, argv, env)
    except OSError as err:
        raise K0spyError(f"running {binary}: {err.strerror or err}") from err
