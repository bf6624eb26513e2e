"""Semantic validation of a decoded ClusterConfig, as k0s's Validate() methods do it, plus a few checks
k0s forgets (a feature gate needs a name). Pure: every problem becomes a ConfigIssue with its full path.

Sections with many rules of their own (load balancing, images, extensions, profiles) live in
`validate_more`.
"""

from __future__ import annotations

from collections.abc import Iterable

from k0spy.config import checks
from k0spy.config.model import ClusterConfig, ClusterSpec
from k0spy.config.model_api import APISpec
from k0spy.config.model_network import KubeProxy, Network
from k0spy.config.model_patches import PATCH_TYPES, Patch
from k0spy.config.model_storage import StorageSpec
from k0spy.errors import ConfigIssue


def issue(path: str, message: str, value: object = None, *, has_value: bool = True) -> ConfigIssue:
    return ConfigIssue(field=path, message=message, value=value, has_value=has_value)


def validate_cluster_config(
    cfg: ClusterConfig, *, k0s_feature_gates: Iterable[str] = ()
) -> list[ConfigIssue]:
    """Every problem in `cfg`; `k0s_feature_gates` are k0s's own gates (`--feature-gates`), not spec's."""
    from k0spy.config import validate_more

    spec = cfg.spec
    out = validate_api(spec.api, "spec.api")
    out += validate_storage(spec.storage, "spec.storage")
    out += validate_network(
        spec.network, "spec.network", ipv6_single_stack="IPv6SingleStack" in set(k0s_feature_gates)
    )
    out += validate_konnectivity(spec)
    out += validate_more.validate_extensions(spec.extensions, "spec.extensions")
    out += validate_more.validate_worker_profiles(spec.worker_profiles, "spec.workerProfiles")
    out += validate_more.validate_images(spec.images, "spec.images")
    out += validate_more.validate_nllb(spec, "spec.network.nodeLocalLoadBalancing")
    if spec.network.control_plane_load_balancing is not None:
        out += validate_more.validate_cplb(
            spec.network.control_plane_load_balancing, "spec.network.controlPlaneLoadBalancing"
        )
    if spec.metrics_server is not None:
        out += validate_patches(spec.metrics_server.patches, "spec.metricsServer.patches")
    out += validate_feature_gates(spec)
    return out


def validate_api(api: APISpec, path: str) -> list[ConfigIssue]:
    out = []
    if not checks.is_ip(api.address):
        out.append(issue(f"{path}.address", "invalid IP address", api.address))
    elif checks.is_any_address(api.address):
        out.append(issue(f"{path}.address", "invalid INADDR_ANY: give an address of this host", api.address))
    if api.external_address:
        host = api.external_host()
        if not checks.is_ip_or_dns_name(host):
            out.append(
                issue(f"{path}.externalAddress", "invalid IP address / DNS name", api.external_address)
            )
        elif checks.is_any_address(api.external_address):
            out.append(issue(f"{path}.externalAddress", "invalid INADDR_ANY", api.external_address))
    for name, port in (("k0sApiPort", api.k0s_api_port), ("port", api.port)):
        if not checks.is_valid_port(port):
            out.append(issue(f"{path}.{name}", checks.PORT_RANGE, port))
    for index, san in enumerate(api.sans):
        if not checks.is_ip_or_dns_name(san):
            out.append(issue(f"{path}.sans[{index}]", "invalid IP address / DNS name", san))
    return out


def validate_storage(storage: StorageSpec, path: str) -> list[ConfigIssue]:
    out = []
    if storage.type == "":
        out.append(issue(f"{path}.type", "required value: one of etcd, kine", has_value=False))
    elif storage.type not in ("etcd", "kine"):
        out.append(issue(f"{path}.type", 'unsupported value: supported values: "etcd", "kine"', storage.type))
    external = storage.etcd.external_cluster
    if external is not None:
        where = f"{path}.etcd.externalCluster"
        if not external.endpoints:
            out.append(issue(f"{where}.endpoints", "cannot be null or empty", has_value=False))
        elif "" in external.endpoints:
            out.append(issue(f"{where}.endpoints", "cannot contain empty strings", external.endpoints))
        if not external.etcd_prefix:
            out.append(issue(f"{where}.etcdPrefix", "cannot be empty", has_value=False))
        given = [f for f in (external.ca_file, external.client_cert_file, external.client_key_file) if f]
        if given and not external.has_all_tls():
            out.append(
                issue(
                    where,
                    "all TLS properties [caFile,clientCertFile,clientKeyFile] must be defined or none",
                    has_value=False,
                )
            )
    return out


def validate_network(net: Network, path: str, *, ipv6_single_stack: bool = False) -> list[ConfigIssue]:
    out = []
    if net.provider == "":
        out.append(
            issue(f"{path}.provider", "required value: one of kuberouter, calico, custom", has_value=False)
        )
    elif net.provider not in ("kuberouter", "calico", "custom"):
        out.append(
            issue(
                f"{path}.provider",
                'unsupported value: supported values: "kuberouter", "calico", "custom"',
                net.provider,
            )
        )
    pod, svc = checks.parse_cidr(net.pod_cidr), checks.parse_cidr(net.service_cidr)
    if pod is None:
        out.append(issue(f"{path}.podCIDR", "invalid CIDR address", net.pod_cidr))
    if svc is None:
        out.append(issue(f"{path}.serviceCIDR", "invalid CIDR address", net.service_cidr))
    if pod is not None and svc is not None:
        if pod.version != svc.version:
            out.append(
                issue(f"{path}.podCIDR", "podCIDR and serviceCIDR must be both IPv4 or IPv6", net.pod_cidr)
            )
        if svc.version == 6 and svc.prefixlen > 108:
            out.append(
                issue(f"{path}.serviceCIDR", "IPv6 service CIDR prefix must be <= 108", net.service_cidr)
            )
        if not net.dual_stack.enabled and pod.version == 6 and not ipv6_single_stack:
            out.append(
                issue(
                    f"{path}.podCIDR",
                    "feature gate IPv6SingleStack must be explicitly enabled to use "
                    "IPv6 single stack (k0s controller --feature-gates=IPv6SingleStack=true)",
                    net.pod_cidr,
                )
            )
    if not checks.is_dns_name(net.cluster_domain):
        out.append(issue(f"{path}.clusterDomain", "invalid DNS name", net.cluster_domain))
    if net.dual_stack.enabled:
        out += _validate_dual_stack(
            net,
            path,
            pod_v6=pod is not None and pod.version == 6,
            svc_v6=svc is not None and svc.version == 6,
        )
    if net.primary_address_family not in ("", "IPv4", "IPv6"):
        out.append(
            issue(
                f"{path}.primaryAddressFamily",
                'unsupported value: supported values: "IPv4", "IPv6"',
                net.primary_address_family,
            )
        )
    out += validate_kube_proxy(net.kube_proxy, f"{path}.kubeProxy")
    if net.kuberouter is not None:
        out += validate_patches(net.kuberouter.patches, f"{path}.kuberouter.patches")
    if net.calico is not None:
        if net.calico.mode == "":
            out.append(
                issue(f"{path}.calico.mode", "required value: one of bird, vxlan, ipip", has_value=False)
            )
        elif net.calico.mode not in ("bird", "vxlan", "ipip"):
            out.append(
                issue(
                    f"{path}.calico.mode",
                    'unsupported value: supported values: "bird", "vxlan", "ipip"',
                    net.calico.mode,
                )
            )
        out += validate_patches(net.calico.patches, f"{path}.calico.patches")
    if net.core_dns is not None:
        out += validate_patches(net.core_dns.patches, f"{path}.coreDNS.patches")
    return out


def _validate_dual_stack(net: Network, path: str, *, pod_v6: bool, svc_v6: bool) -> list[ConfigIssue]:
    out = []
    if net.provider == "calico" and (net.calico is None or net.calico.mode != "bird"):
        out.append(
            issue(
                f"{path}.calico.mode",
                "dual-stack for calico is only supported for mode `bird`",
                net.calico.mode if net.calico else "",
            )
        )
    for name, value, check_len in (
        ("IPv6podCIDR", net.dual_stack.ipv6_pod_cidr, False),
        ("IPv6serviceCIDR", net.dual_stack.ipv6_service_cidr, True),
    ):
        cidr = checks.parse_cidr(value)
        where = f"{path}.dualStack.{name}"
        if cidr is None:
            out.append(issue(where, "invalid CIDR address", value))
        elif cidr.version == 4:
            out.append(issue(where, "must be an IPv6 CIDR, not IPv4", value))
        elif check_len and 128 - cidr.prefixlen > 20:
            out.append(issue(where, "IPv6 service CIDR prefix must be <= 108", value))
    if pod_v6:
        out.append(issue(f"{path}.podCIDR", "if DualStack is enabled, podCIDR must be IPv4", net.pod_cidr))
    if svc_v6:
        out.append(
            issue(
                f"{path}.serviceCIDR", "if DualStack is enabled, serviceCIDR must be IPv4", net.service_cidr
            )
        )
    return out


def validate_kube_proxy(proxy: KubeProxy, path: str) -> list[ConfigIssue]:
    out = validate_patches(proxy.patches, f"{path}.patches")
    if proxy.disabled:
        return out
    if proxy.mode not in ("iptables", "ipvs", "userspace", "nftables"):
        out.append(
            issue(
                f"{path}.mode",
                'unsupported mode: supported values: "iptables", "ipvs", "nftables", "userspace"',
                proxy.mode,
            )
        )
    for name, value in (
        ("healthzBindAddress", proxy.healthz_bind_address),
        ("metricsBindAddress", proxy.metrics_bind_address),
    ):
        problem = checks.host_port_problem(value)
        if problem:
            out.append(issue(f"{path}.{name}", problem, value))
    return out


def validate_patches(patches: list[Patch], path: str) -> list[ConfigIssue]:
    out = []
    for index, patch in enumerate(patches):
        where = f"{path}[{index}]"
        if patch.patch.type not in PATCH_TYPES:
            out.append(
                issue(
                    f"{where}.patch.type",
                    "invalid type: must be one of JSON, StrategicMergePatch, MergePatch",
                    patch.patch.type,
                )
            )
        if not patch.target.kind:
            out.append(issue(f"{where}.target.kind", "required value", has_value=False))
        if not patch.target.name:
            out.append(issue(f"{where}.target.name", "required value", has_value=False))
    return out


def validate_konnectivity(spec: ClusterSpec) -> list[ConfigIssue]:
    out = []
    k = spec.konnectivity
    for name, port in (("adminPort", k.admin_port), ("agentPort", k.agent_port)):
        if not checks.is_valid_port(port):
            out.append(issue(f"spec.konnectivity.{name}", checks.PORT_RANGE, port))
    return out


def validate_feature_gates(spec: ClusterSpec) -> list[ConfigIssue]:
    out = []
    for index, gate in enumerate(spec.feature_gates):
        if not gate.name:
            out.append(
                issue(f"spec.featureGates[{index}].name", "feature gate must have a name", has_value=False)
            )
    return out
