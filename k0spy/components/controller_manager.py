"""kube-controller-manager's command line (k0s controllermanager.go).

Precedence, lowest first: base map -> the `--kube-controller-manager-extra-args` CLI string -> the node
CIDR mask sizes -> `spec.controllerManager.extraArgs` (overrides reported) -> fill-if-empty defaults ->
`leader-elect=false` for a single controller -> feature gates -> rawArgs. It runs as the kube-apiserver
user because it needs `sa.key` and `ca.key`. k0s has no readiness check for it; k0spy probes the secure
port's `/healthz` as for the scheduler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from k0spy.components.apiserver import pod_cidr, service_cidr
from k0spy.components.flags import (
    ComponentSpec,
    ProbeSpec,
    add_feature_gates,
    fill_defaults,
    merge_extra_args,
    render_args,
    split_extra_args,
)
from k0spy.components.scheduler import health_url
from k0spy.paths import Paths

if TYPE_CHECKING:
    from k0spy.config.model import ClusterConfig

NAME = "kube-controller-manager"
KCM_USER = "kube-apiserver"
SECURE_PORT = 10257
DEFAULTS = {
    "allocate-node-cidrs": "true",
    "bind-address": "127.0.0.1",
    "cluster-name": "k0s",
    "controllers": "*,bootstrapsigner,tokencleaner",
    "leader-elect": "true",
    "use-service-account-credentials": "true",
}


def _mask_sizes(cfg: ClusterConfig) -> dict[str, str]:
    network = cfg.spec.network
    if network.dual_stack.enabled:
        return {"node-cidr-mask-size-ipv6": "117", "node-cidr-mask-size-ipv4": "24"}
    return {"node-cidr-mask-size": "117" if network.is_single_stack_ipv6() else "24"}


def controller_manager_arg_map(
    cfg: ClusterConfig, paths: Paths, *, log_level: str, single_controller: bool, cli_extra_args: str = "",
) -> tuple[dict[str, str], tuple[str, ...]]:
    pki = paths.cert_dir
    kubeconfig = str(pki / "ccm.conf")
    args = {
        "authentication-kubeconfig": kubeconfig,
        "authorization-kubeconfig": kubeconfig,
        "kubeconfig": kubeconfig,
        "client-ca-file": str(pki / "ca.crt"),
        "cluster-signing-cert-file": str(pki / "ca.crt"),
        "cluster-signing-key-file": str(pki / "ca.key"),
        "requestheader-client-ca-file": str(pki / "front-proxy-ca.crt"),
        "root-ca-file": str(pki / "ca.crt"),
        "service-account-private-key-file": str(pki / "sa.key"),
        "cluster-cidr": pod_cidr(cfg),
        "service-cluster-ip-range": service_cidr(cfg),
        "profiling": "false",
        "terminated-pod-gc-threshold": "12500",
        "v": log_level,
    }
    if cli_extra_args:
        args.update(split_extra_args(cli_extra_args))
    args.update(_mask_sizes(cfg))
    args, overridden = merge_extra_args(args, cfg.spec.controller_manager.extra_args)
    args = fill_defaults(args, DEFAULTS)
    if single_controller:
        args["leader-elect"] = "false"
    return add_feature_gates(args, cfg.feature_gates_for(NAME)), overridden


def controller_manager_args(cfg: ClusterConfig, paths: Paths, *, log_level: str, single_controller: bool,
                            cli_extra_args: str = "") -> list[str]:
    args, _ = controller_manager_arg_map(cfg, paths, log_level=log_level, single_controller=single_controller,
                                         cli_extra_args=cli_extra_args)
    return render_args(args) + list(cfg.spec.controller_manager.raw_args)


def controller_manager_spec(cfg: ClusterConfig, paths: Paths, *, log_level: str, single_controller: bool,
                            cli_extra_args: str = "") -> ComponentSpec:
    args, overridden = controller_manager_arg_map(cfg, paths, log_level=log_level,
                                                  single_controller=single_controller,
                                                  cli_extra_args=cli_extra_args)
    return ComponentSpec(
        name=NAME, component=NAME, binary=str(paths.bin_dir / NAME),
        args=tuple(render_args(args) + list(cfg.spec.controller_manager.raw_args)), user=KCM_USER,
        overridden=overridden, probe=ProbeSpec("https-insecure", health_url(args, SECURE_PORT), timeout=3.0),
    )
