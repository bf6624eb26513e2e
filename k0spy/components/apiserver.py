"""kube-apiserver's command line, stop timeout and egress selector file (k0s apiserver.go).

Order of the rules, as k0s applies them: base map -> `api.extraArgs` (overrides reported) -> feature gates
-> fill-if-empty defaults (`anonymous-auth` skipped when the authentication config file manages
anonymous access) -> cipher suites if empty -> `endpoint-reconciler-type=none` when k0s reconciles the
endpoint itself -> the stop timeout derived from `request-timeout` and
`shutdown-watch-termination-grace-period` (and the latter filled from it) -> render in insertion order
(k0s uses Go's random map order) -> `api.rawArgs` -> the storage flags.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from k0spy.components.etcd import client_url, join_host_port
from k0spy.components.flags import (
    TLS12_CIPHER_SUITES,
    ComponentSpec,
    FileSpec,
    ProbeSpec,
    add_feature_gates,
    merge_extra_args,
    render_args,
)
from k0spy.config.durations import format_go_duration_ns, parse_go_duration_ns
from k0spy.fsutil import CONFIG_FILE_MODE
from k0spy.paths import Paths

if TYPE_CHECKING:
    from k0spy.config.model import ClusterConfig

APISERVER_USER = "kube-apiserver"
NAME = "kube-apiserver"
SECOND_NS = 1_000_000_000
DEFAULTS = {
    "allow-privileged": "true",
    "requestheader-extra-headers-prefix": "X-Remote-Extra-",
    "requestheader-group-headers": "X-Remote-Group",
    "requestheader-username-headers": "X-Remote-User",
    "secure-port": "6443",
    "anonymous-auth": "false",
}
EGRESS_SELECTOR_TEMPLATE = """
apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: GRPC
    transport:
      uds:
        udsName: {uds}
"""


def primary_family(cfg: ClusterConfig) -> str:
    """IPv4 or IPv6: `network.primaryAddressFamily`, else the family of externalAddress / address."""
    import ipaddress

    network = cfg.spec.network
    if network.primary_address_family:
        return network.primary_address_family
    try:
        addr = ipaddress.ip_address(cfg.spec.api.external_host() or cfg.spec.api.address)
    except ValueError:
        return "IPv4"
    return "IPv6" if addr.version == 6 else "IPv4"


def _dual(cfg: ClusterConfig, v4: str, v6: str) -> str:
    if not cfg.spec.network.dual_stack.enabled:
        return v4
    return f"{v6},{v4}" if primary_family(cfg) == "IPv6" else f"{v4},{v6}"


def service_cidr(cfg: ClusterConfig) -> str:
    """k0s BuildServiceCIDR: the service CIDR, dual-stack pairs with the primary family first."""
    network = cfg.spec.network
    return _dual(cfg, network.service_cidr, network.dual_stack.ipv6_service_cidr)


def pod_cidr(cfg: ClusterConfig) -> str:
    """k0s BuildPodCIDR, the same rule for the pod CIDR."""
    network = cfg.spec.network
    return _dual(cfg, network.pod_cidr, network.dual_stack.ipv6_pod_cidr)


def egress_selector_file(paths: Paths) -> FileSpec:
    """DATA/konnectivity.conf: route `cluster` traffic through konnectivity-server's unix socket."""
    return FileSpec(str(paths.egress_selector_config),
                    EGRESS_SELECTOR_TEMPLATE.format(uds=paths.konnectivity_socket), CONFIG_FILE_MODE)


def _base(cfg: ClusterConfig, paths: Paths, log_level: str) -> dict[str, str]:
    pki = paths.cert_dir
    api = cfg.spec.api
    return {
        "advertise-address": api.address,
        "secure-port": str(api.port),
        "authorization-mode": "Node,RBAC",
        "client-ca-file": str(pki / "ca.crt"),
        "enable-bootstrap-token-auth": "true",
        "kubelet-client-certificate": str(pki / "apiserver-kubelet-client.crt"),
        "kubelet-client-key": str(pki / "apiserver-kubelet-client.key"),
        "kubelet-preferred-address-types": "InternalIP,ExternalIP,Hostname",
        "proxy-client-cert-file": str(pki / "front-proxy-client.crt"),
        "proxy-client-key-file": str(pki / "front-proxy-client.key"),
        "requestheader-allowed-names": "front-proxy-client",
        "requestheader-client-ca-file": str(pki / "front-proxy-ca.crt"),
        "service-account-key-file": str(pki / "sa.pub"),
        "service-cluster-ip-range": service_cidr(cfg),
        "tls-min-version": "VersionTLS12",
        "tls-cert-file": str(pki / "server.crt"),
        "tls-private-key-file": str(pki / "server.key"),
        "service-account-signing-key-file": str(pki / "sa.key"),
        "service-account-issuer": "https://kubernetes.default.svc",
        "service-account-jwks-uri": "https://kubernetes.default.svc/openid/v1/jwks",
        "profiling": "false",
        "v": log_level,
        "kubelet-certificate-authority": str(pki / "ca.crt"),
        "enable-admission-plugins": "NodeRestriction",
    }


def _duration_ns(value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        return parse_go_duration_ns(value)
    except ValueError:
        return default


def stop_timeout_ns(args: dict[str, str], explicit_ns: int | None = None) -> int:
    """`clamp(max(request-timeout [1m], shutdown-watch-termination-grace-period [0]) + 2s, 5s, 20s)`."""
    if explicit_ns is not None and explicit_ns > 0:
        return explicit_ns
    request = _duration_ns(args.get("request-timeout"), 60 * SECOND_NS)
    grace = _duration_ns(args.get("shutdown-watch-termination-grace-period"), 0)
    return max(5 * SECOND_NS, min(max(request, grace) + 2 * SECOND_NS, 20 * SECOND_NS))


def storage_args(cfg: ClusterConfig, paths: Paths) -> list[str]:
    """`--etcd-servers` and friends for kine, the etcd this controller runs, or an external etcd."""
    storage = cfg.spec.storage
    if storage.type == "kine":
        return [f"--etcd-servers=unix:{paths.kine_socket}"]
    external = storage.etcd.external_cluster
    if external is None:
        return [f"--etcd-servers={client_url(cfg)}", f"--etcd-cafile={paths.etcd_cert_dir / 'ca.crt'}",
                f"--etcd-certfile={paths.cert_dir / 'apiserver-etcd-client.crt'}",
                f"--etcd-keyfile={paths.cert_dir / 'apiserver-etcd-client.key'}"]
    out = ["--etcd-servers=" + ",".join(external.endpoints or [])]
    if external.has_all_tls():
        out += [f"--etcd-cafile={external.ca_file}", f"--etcd-certfile={external.client_cert_file}",
                f"--etcd-keyfile={external.client_key_file}"]
    return [*out, f"--etcd-prefix={external.etcd_prefix}"]


def apiserver_arg_map(
    cfg: ClusterConfig, paths: Paths, *, log_level: str, konnectivity: bool,
    disable_endpoint_reconciler: bool = False, auth_config_has_anonymous: bool = False,
    stop_timeout_override_ns: int | None = None,
) -> tuple[dict[str, str], tuple[str, ...], int]:
    """(merged map in k0s's insertion order, overridden k0s keys, stop timeout in ns)."""
    api = cfg.spec.api
    base = _base(cfg, paths, log_level)
    if api.only_bind_to_address:
        base["bind-address"] = api.address
    audiences = ["https://kubernetes.default.svc"]
    if konnectivity:
        base["egress-selector-config-file"] = str(paths.egress_selector_config)
        audiences.append("system:konnectivity-server")
    base["api-audiences"] = ",".join(audiences)
    args, overridden = merge_extra_args(base, api.extra_args)
    args = add_feature_gates(args, cfg.feature_gates_for(NAME))
    managed = auth_config_has_anonymous and bool(args.get("authentication-config"))
    for name, value in DEFAULTS.items():
        if not (name == "anonymous-auth" and managed) and not args.get(name):
            args[name] = value
    if not args.get("tls-cipher-suites"):
        args["tls-cipher-suites"] = TLS12_CIPHER_SUITES
    if disable_endpoint_reconciler:
        args["endpoint-reconciler-type"] = "none"
    timeout = stop_timeout_ns(args, stop_timeout_override_ns)
    if "shutdown-watch-termination-grace-period" not in args and timeout > 2 * SECOND_NS:
        args["shutdown-watch-termination-grace-period"] = format_go_duration_ns(timeout - 2 * SECOND_NS)
    return args, overridden, timeout


def apiserver_spec(
    cfg: ClusterConfig, paths: Paths, *, log_level: str, konnectivity: bool,
    disable_endpoint_reconciler: bool = False, auth_config_has_anonymous: bool = False,
    stop_timeout_override_ns: int | None = None,
) -> ComponentSpec:
    args, overridden, timeout = apiserver_arg_map(
        cfg, paths, log_level=log_level, konnectivity=konnectivity,
        disable_endpoint_reconciler=disable_endpoint_reconciler,
        auth_config_has_anonymous=auth_config_has_anonymous,
        stop_timeout_override_ns=stop_timeout_override_ns)
    rendered = render_args(args, sort=False) + list(cfg.spec.api.raw_args) + storage_args(cfg, paths)
    api = cfg.spec.api
    return ComponentSpec(
        name=NAME, component=NAME, binary=str(paths.bin_dir / NAME), args=tuple(rendered),
        user=APISERVER_USER, files=(egress_selector_file(paths),) if konnectivity else (),
        stop_timeout=timeout / SECOND_NS, overridden=overridden, binds_privileged_ports=api.port < 1024,
        probe=ProbeSpec("https", f"https://{join_host_port(api.address, api.port)}/readyz?verbose",
                        ca_file=str(paths.cert_dir / "ca.crt"), cert_file=str(paths.cert_dir / "admin.crt"),
                        key_file=str(paths.cert_dir / "admin.key"), timeout=5.0),
    )
