"""Validation of the sections with many rules: load balancing, images, extensions, worker profiles.

Worker profile values are checked for what k0s reserves (clusterDNS, clusterDomain, staticPodURL) and
for their apiVersion/kind; the full KubeletConfiguration validation that k0s borrows from the kubelet is
out of scope here (the kubelet itself rejects bad values at start).
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

from k0spy.config import checks
from k0spy.config.model import ClusterSpec
from k0spy.config.model_extensions import ClusterExtensions
from k0spy.config.model_images import ClusterImages, ImageSpec
from k0spy.config.model_lb import ControlPlaneLoadBalancing, EnvoyProxy
from k0spy.config.model_misc import WorkerProfile
from k0spy.config.validate import issue
from k0spy.errors import ConfigIssue

PULL_POLICIES = ("Always", "IfNotPresent", "Never")
LB_ALGOS = ("rr", "wrr", "lc", "wlc", "lblc", "dh", "sh", "sed", "nq")
LB_KINDS = ("NAT", "DR", "TUN")


def validate_extensions(ext: ClusterExtensions, path: str) -> list[ConfigIssue]:
    out = []
    for index, repo in enumerate(ext.helm.repositories):
        where = f"{path}.helm.repositories[{index}]"
        if not repo.name:
            out.append(issue(f"{where}.name", "repository must have a name", has_value=False))
        elif not repo.url:
            out.append(issue(f"{where}.url", "repository must have a URL", has_value=False))
    for index, chart in enumerate(ext.helm.charts):
        where = f"{path}.helm.charts[{index}]"
        if not chart.name:
            out.append(issue(f"{where}.name", "chart must have a name", has_value=False))
        elif not checks.is_release_name(chart.name):
            out.append(
                issue(
                    f"{where}.name",
                    "invalid release name, must match regex "
                    f"{checks.RELEASE_NAME} and the length must not be longer than 53",
                    chart.name,
                )
            )
        elif not chart.chart_name:
            out.append(issue(f"{where}.chartname", "chart must have a chartname", has_value=False))
        elif not chart.target_ns:
            out.append(issue(f"{where}.namespace", "chart must have a namespace", has_value=False))
    return out


def validate_worker_profiles(profiles: list[WorkerProfile], path: str) -> list[ConfigIssue]:
    out = []
    for index, profile in enumerate(profiles):
        where = f"{path}[{index}]"
        if not profile.name:
            out.append(issue(f"{where}.name", "required value", has_value=False))
        else:
            messages = checks.is_dns1123_label(profile.name)
            if messages:
                out.append(issue(f"{where}.name", ", ".join(messages), profile.name))
        if profile.values is not None:
            out += _validate_profile_values(profile.values, f"{where}.values")
    return out


def _validate_profile_values(values: Any, path: str) -> list[ConfigIssue]:
    if not isinstance(values, dict):
        return [issue(path, "must be a mapping of KubeletConfiguration fields", values)]
    out = []
    expected = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration"}
    for key, want in expected.items():
        got = values.get(key)
        if got not in (None, "", want):
            out.append(issue(f"{path}.{key}", f'expected "{want}"', got))
    for key in ("clusterDNS", "clusterDomain", "staticPodURL"):
        if values.get(key) not in (None, "", []):
            out.append(issue(f"{path}.{key}", "may not be used in k0s worker profiles", values[key]))
    return out


def validate_image(spec: ImageSpec, path: str) -> list[ConfigIssue]:
    out = []
    if not spec.image:
        out.append(issue(f"{path}.image", "required value", has_value=False))
    elif spec.image != spec.image.strip():
        out.append(issue(f"{path}.image", "must not have leading or trailing whitespace", spec.image))
    if not checks.is_image_version(spec.version):
        out.append(
            issue(f"{path}.version", f"must match regular expression: {checks.IMAGE_VERSION}", spec.version)
        )
    return out


def validate_images(images: ClusterImages, path: str) -> list[ConfigIssue]:
    out = []
    if images.default_pull_policy not in PULL_POLICIES:
        out.append(
            issue(
                f"{path}.default_pull_policy",
                'unsupported value: supported values: "Always", "IfNotPresent", "Never"',
                images.default_pull_policy,
            )
        )
    entries: list[tuple[str, ImageSpec]] = [
        ("konnectivity", images.konnectivity),
        ("pushgateway", images.push_gateway),
        ("metricsserver", images.metrics_server),
        ("kubeproxy", images.kube_proxy),
        ("coredns", images.coredns),
        ("pause", images.pause),
        ("calico.cni", images.calico.cni),
        ("calico.node", images.calico.node),
        ("calico.kubecontrollers", images.calico.kube_controllers),
        ("calico.windows.cni", images.calico.windows.cni),
        ("calico.windows.node", images.calico.windows.node),
        ("kuberouter.cni", images.kuberouter.cni),
        ("kuberouter.cniInstaller", images.kuberouter.cni_installer),
        ("windows.kubeproxy", images.windows.kube_proxy),
        ("windows.pause", images.windows.pause),
    ]
    for name, spec in entries:
        out += validate_image(spec, f"{path}.{name}")
    return out


def validate_nllb(spec: ClusterSpec, path: str) -> list[ConfigIssue]:
    nllb = spec.network.node_local_load_balancing
    out = []
    if nllb.type not in ("EnvoyProxy", "Traefik"):
        out.append(
            issue(f"{path}.type", 'unsupported value: supported values: "EnvoyProxy", "Traefik"', nllb.type)
        )
    for name, proxy in (("envoyProxy", nllb.envoy_proxy), ("traefik", nllb.traefik)):
        if proxy is not None:
            out += _validate_proxy(proxy, f"{path}.{name}")
    if nllb.enabled and spec.api.external_address:
        out.append(
            issue(
                f"{path}.enabled",
                "node-local load balancing cannot be used in conjunction with an "
                "external Kubernetes API server address (spec.api.externalAddress)",
                True,
            )
        )
    return out


def _validate_proxy(proxy: EnvoyProxy, path: str) -> list[ConfigIssue]:
    out = (
        validate_image(proxy.image, f"{path}.image")
        if proxy.image
        else [issue(f"{path}.image", "image must be set", has_value=False)]
    )
    if proxy.image_pull_policy not in ("", *PULL_POLICIES):
        out.append(
            issue(
                f"{path}.imagePullPolicy",
                'unsupported value: supported values: "Always", "Never", "IfNotPresent"',
                proxy.image_pull_policy,
            )
        )
    if not checks.is_valid_port(proxy.api_server_bind_port):
        out.append(issue(f"{path}.apiServerBindPort", checks.PORT_RANGE, proxy.api_server_bind_port))
    port = proxy.konnectivity_server_bind_port
    if port is not None and not checks.is_valid_port(port):
        out.append(issue(f"{path}.konnectivityServerBindPort", checks.PORT_RANGE, port))
    return out


def validate_cplb(cplb: ControlPlaneLoadBalancing, path: str) -> list[ConfigIssue]:
    out = []
    if cplb.type not in ("", "Keepalived"):
        out.append(issue(f"{path}.type", "unsupported CPLB type: only Keepalived is allowed", cplb.type))
    keepalived = cplb.keepalived
    if keepalived is None:
        return out
    for index, vrrp in enumerate(keepalived.vrrp_instances):
        where = f"{path}.keepalived.vrrpInstances[{index}]"
        if vrrp.virtual_router_id == 0 and 51 + index > 255:
            out.append(
                issue(
                    f"{where}.virtualRouterID",
                    "automatic virtualRouterIDs exceeded, specify them explicitly",
                    has_value=False,
                )
            )
        elif not 0 <= vrrp.virtual_router_id <= 255:
            out.append(
                issue(f"{where}.virtualRouterID", "must be in the range of 1-255", vrrp.virtual_router_id)
            )
        if vrrp.address_label == 2**32 - 1:
            out.append(issue(f"{where}.addressLabel", "0xffffffff is reserved", vrrp.address_label))
        if not vrrp.auth_pass:
            out.append(issue(f"{where}.authPass", "must be defined", has_value=False))
        elif len(vrrp.auth_pass.encode()) > 8:
            out.append(issue(f"{where}.authPass", "must be 8 characters or less", vrrp.auth_pass))
        if not vrrp.virtual_ips:
            out.append(issue(f"{where}.virtualIPs", "must be defined", has_value=False))
        for vip_index, vip in enumerate(vrrp.virtual_ips or []):
            if checks.parse_cidr(vip) is None:
                out.append(issue(f"{where}.virtualIPs[{vip_index}]", "must be a CIDR", vip))
        if vrrp.unicast_peers:
            if not checks.is_ip(vrrp.unicast_source_ip):
                out.append(
                    issue(
                        f"{where}.unicastSourceIP",
                        "unicastPeers require a valid unicastSourceIP",
                        vrrp.unicast_source_ip,
                    )
                )
            for peer_index, peer in enumerate(vrrp.unicast_peers):
                if not checks.is_ip(peer):
                    out.append(issue(f"{where}.unicastPeers[{peer_index}]", "invalid IP address", peer))
                elif peer == vrrp.unicast_source_ip:
                    out.append(
                        issue(
                            f"{where}.unicastPeers[{peer_index}]",
                            "must not contain the unicastSourceIP",
                            peer,
                        )
                    )
    out += _validate_virtual_servers(cplb, path)
    port = keepalived.user_space_proxy_port
    if port != 0 and not checks.is_valid_port(port):
        out.append(issue(f"{path}.keepalived.userSpaceProxyBindPort", checks.PORT_RANGE, port))
    return out


def _validate_virtual_servers(cplb: ControlPlaneLoadBalancing, path: str) -> list[ConfigIssue]:
    assert cplb.keepalived is not None
    out = []
    for index, server in enumerate(cplb.keepalived.virtual_servers):
        where = f"{path}.keepalived.virtualServers[{index}]"
        try:
            ipaddress.ip_address(server.ip_address)
        except ValueError:
            out.append(
                issue(
                    f"{where}.ipAddress",
                    "must be defined" if not server.ip_address else "invalid IP address",
                    server.ip_address,
                    has_value=bool(server.ip_address),
                )
            )
        if server.lb_algo and server.lb_algo not in LB_ALGOS:
            out.append(
                issue(
                    f"{where}.lbAlgo",
                    f"unsupported value: supported values: {', '.join(LB_ALGOS)}",
                    server.lb_algo,
                )
            )
        if server.lb_kind and server.lb_kind not in LB_KINDS:
            out.append(
                issue(
                    f"{where}.lbKind",
                    f"unsupported value: supported values: {', '.join(LB_KINDS)}",
                    server.lb_kind,
                )
            )
        seconds = server.persistence_timeout_seconds
        if seconds != 0 and not 1 <= seconds <= 2678400:
            out.append(
                issue(f"{where}.persistenceTimeoutSeconds", "must be in the range of 1-2678400", seconds)
            )
        if server.delay_loop != timedelta(0) and server.delay_loop < timedelta(microseconds=1):
            out.append(issue(f"{where}.delayLoop", "must be positive", str(server.delay_loop)))
    return out
