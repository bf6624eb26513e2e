"""`k0spy kubectl ...`: kubectl against this node's cluster, with the admin kubeconfig by default.

As in k0s, `--kubeconfig` or `KUBECONFIG` win; otherwise `DATA/pki/admin.conf` is used. k0s embeds
kubectl in its own binary; k0spy runs the `kubectl` found in `DATA/bin` or on `PATH` (the same binary an
operator would run), replacing this process so that exit codes, signals and the terminal pass straight
through. Invoked as `kubectl` (or `k0spy-kubectl`), k0spy behaves as `k0spy kubectl`.
"""

from __future__ import annotations

import os
import shutil

import click

from k0spy.cli.options import global_options


def kubectl_argv(binary: str, args: list[str], admin_conf: str, environ: dict[str, str]) -> list[str]:
    """The kubectl command line: the admin kubeconfig is added unless the user chose one."""
    chose = environ.get("KUBECONFIG") or any(
        arg == "--kubeconfig" or arg.startswith("--kubeconfig=") for arg in args)
    return [binary, *([] if chose else [f"--kubeconfig={admin_conf}"]), *args]


def find_binary(name: str, bin_dir: str) -> str | None:
    staged = os.path.join(bin_dir, name)
    if os.access(staged, os.X_OK):
        return staged
    return shutil.which(name)


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False,
                                 "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def kubectl(args: tuple[str, ...]) -> None:
    """Run kubectl with this node's admin kubeconfig (all arguments go to kubectl)."""
    from k0spy.errors import K0spyError

    paths = global_options().paths()
    binary = find_binary("kubectl", str(paths.bin_dir))
    if binary is None:
        raise K0spyError("kubectl not found in DATA/bin or on PATH", hint="install kubectl")
    argv = kubectl_argv(binary, list(args), str(paths.admin_kubeconfig), dict(os.environ))
    os.execv(binary, argv)
