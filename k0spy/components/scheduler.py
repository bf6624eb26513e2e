"""kube-scheduler's command line (k0s scheduler.go).

k0s spawns the scheduler from its config reconciler, so it is the second-to-last process to appear, and
restarts it whenever the rendered map changes. k0s has no readiness check for it; k0spy probes the
secure port's `/healthz` without verifying the self-signed serving certificate (the port is 127.0.0.1
only) so that "every component ready" means the same for every child.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from k0spy.components.flags import ComponentSpec, ProbeSpec, add_feature_gates, merge_extra_args, render_args
from k0spy.paths import Paths

if TYPE_CHECKING:
    from k0spy.config.model import ClusterConfig

NAME = "kube-scheduler"
SCHEDULER_USER = "kube-scheduler"
SECURE_PORT = 10259


def health_url(args: dict[str, str], default_port: int) -> str:
    """`https://<bind-address>:<secure-port>/healthz` as the rendered flags say (upstream defaults)."""
    host = args.get("bind-address") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    port = args.get("secure-port") or str(default_port)
    host = f"[{host}]" if ":" in host else host
    return f"https://{host}:{port}/healthz"


def scheduler_arg_map(cfg: ClusterConfig, paths: Paths, *, log_level: str,
                      single_controller: bool) -> tuple[dict[str, str], tuple[str, ...]]:
    kubeconfig = str(paths.cert_dir / "scheduler.conf")
    base = {
        "authentication-kubeconfig": kubeconfig,
        "authorization-kubeconfig": kubeconfig,
        "kubeconfig": kubeconfig,
        "bind-address": "127.0.0.1",
        "leader-elect": "true",
        "profiling": "false",
        "v": log_level,
    }
    args, overridden = merge_extra_args(base, cfg.spec.scheduler.extra_args)
    if single_controller:
        args["leader-elect"] = "false"
    return add_feature_gates(args, cfg.feature_gates_for(NAME)), overridden


def scheduler_args(cfg: ClusterConfig, paths: Paths, *, log_level: str, single_controller: bool) -> list[str]:
    args, _ = scheduler_arg_map(cfg, paths, log_level=log_level, single_controller=single_controller)
    return render_args(args) + list(cfg.spec.scheduler.raw_args)


def scheduler_spec(cfg: ClusterConfig, paths: Paths, *, log_level: str,
                   single_controller: bool) -> ComponentSpec:
    args, overridden = scheduler_arg_map(cfg, paths, log_level=log_level, single_controller=single_controller)
    return ComponentSpec(
        name=NAME, component=NAME, binary=str(paths.bin_dir / NAME),
        args=tuple(render_args(args) + list(cfg.spec.scheduler.raw_args)), user=SCHEDULER_USER,
        overridden=overridden, probe=ProbeSpec("https-insecure", health_url(args, SECURE_PORT), timeout=3.0),
    )
