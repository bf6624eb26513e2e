"""The entry point: the command table, multi-call dispatch, the fast path, and exit codes.

Sub-commands are imported only when invoked (the click group lives in `k0spy.cli.root`), so `--help` and
shell completion never import pydantic, cryptography or aiohttp; plain `k0spy version` does not even
import click (it is answered by `k0spy.cli.versioninfo`, which keeps it faster than a Go CLI's start-up).
This is also the one place that turns exceptions into exit codes: library code raises `K0spyError` and
friends and never exits.
"""

from __future__ import annotations

import os
import sys
from typing import Any

# name -> ("module:attribute", one-line help). A command appears here only once it works. The help
# line lives here so that `k0spy --help` lists every command without importing any of them.
COMMANDS: dict[str, tuple[str, str]] = {
    "airgap": ("k0spy.cli.airgap:airgap", "Tools for air-gapped installations (list-images)."),
    "api": ("k0spy.cli.api:api", "Run the controller join API (reads the runtime config on stdin)."),
    "token": ("k0spy.cli.token:token", "Create, list and invalidate join tokens."),
    "etcd": ("k0spy.cli.etcd:etcd", "List the etcd members or remove one (leave)."),
    "backup": ("k0spy.cli.backup:backup", "Back up the running controller, or --verify an archive."),
    "restore": ("k0spy.cli.restore:restore", "Restore a k0s/k0spy backup onto a stopped node."),
    "certificates": ("k0spy.cli.certificates:certificates", "Check every certificate under the data dir."),
    "completion": ("k0spy.cli.completion:completion", "Print the shell completion script."),
    "install": ("k0spy.cli.install:install", "Install k0spy as a systemd or OpenRC service."),
    "kubectl": ("k0spy.cli.kubectl:kubectl", "Run kubectl with this node's admin kubeconfig."),
    "kubeconfig": ("k0spy.cli.kubeconfig:kubeconfig", "Create kubeconfigs for the admin or a user."),
    "config": ("k0spy.cli.config:config", "Create and validate k0s.yaml files."),
    "controller": ("k0spy.cli.controller:controller", "Run the control plane (or show it: --dry-run)."),
    "ctr": ("k0spy.cli.ctr:ctr", "containerd CLI against k0spy's containerd (namespace k8s.io)."),
    "reset": ("k0spy.cli.reset:reset", "Remove everything k0spy put on this node (--dry-run lists it)."),
    "start": ("k0spy.cli.service:start", "Start the installed k0spy service."),
    "status": ("k0spy.cli.status:status", "Show the running daemon's status, components and timeline."),
    "stop": ("k0spy.cli.service:stop", "Stop the installed k0spy service."),
    "sysinfo": ("k0spy.cli.sysinfo:sysinfo", "Run the pre-flight probes and show the results."),
    "version": ("k0spy.cli.version:version", "Print the k0spy and component versions."),
    "worker": ("k0spy.cli.worker:worker", "Join as a worker and run containerd and kubelet."),
}

# argv[0] names that make k0spy behave as `k0spy <name>` (a k0spy- prefix is allowed).
MULTI_CALL = ("kubectl", "ctr")


def multi_call_argv(argv: list[str]) -> list[str]:
    """Rewrite `kubectl ARGS` / `k0spy-ctr ARGS` (by argv[0]) to `k0spy kubectl ARGS`."""
    name = os.path.basename(argv[0]) if argv else ""
    name = name.removeprefix("k0spy-")
    if name in MULTI_CALL and name in COMMANDS:
        return [name, *argv[1:]]
    return argv[1:]


# Invocations answered without click: exactly these argument lists.
FAST_PATHS: dict[tuple[str, ...], str] = {("version",): "text", ("version", "--short"): "short",
                                          ("version", "-s"): "short"}


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; exits with the command's code."""
    args = multi_call_argv(sys.argv if argv is None else ["k0spy", *argv])
    fast = FAST_PATHS.get(tuple(args))
    if fast is not None:
        from k0spy.cli.versioninfo import render

        sys.stdout.write(render(fast))
        sys.exit(0)
    import click

    from k0spy.cli.root import cli
    from k0spy.errors import K0spyError

    try:
        result: Any = cli.main(args=args, prog_name="k0spy", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except K0spyError as exc:
        click.echo(exc.render(), err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
