"""spec.network: CIDRs, the CNI provider and kube-proxy (k0s network.go, kuberouter.go, calico.go, ...).

Field defaults here are k0s's Default*() values for the types that k0s always starts from a default
(kube-proxy, kube-router), and Go's zero values for the types it may allocate empty. Calico is special:
its decoder fills defaults that differ from DefaultCalico() in the flex-volume path (a k0s quirk kept).
"""

from __future__ import annotations

from pydantic import Field

from k0spy.config.model_base import Duration, Int32, K0sModel, StrMap
from k0spy.config.model_lb import ControlPlaneLoadBalancing, NodeLocalLoadBalancing
from k0spy.config.model_patches import Patch

CALICO_FLEX_PATH_DEFAULT = "/usr/libexec/k0s/kubelet-plugins/volume/exec/nodeagent~uds"
CALICO_FLEX_PATH_DECODED = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/nodeagent~uds"
ZERO = "0s"


class DualStack(K0sModel):
    k0s_always = frozenset({"enabled"})

    enabled: bool = False
    ipv6_pod_cidr: str = Field("", alias="IPv6podCIDR")
    ipv6_service_cidr: str = Field("", alias="IPv6serviceCIDR")


class KubeProxyIPTables(K0sModel):
    k0s_always = frozenset({"syncPeriod", "minSyncPeriod"})

    masquerade_bit: Int32 | None = Field(None, alias="masqueradeBit")
    masquerade_all: bool = Field(False, alias="masqueradeAll")
    localhost_node_ports: bool | None = Field(None, alias="localhostNodePorts")
    sync_period: Duration = Field(ZERO, alias="syncPeriod", validate_default=True)
    min_sync_period: Duration = Field(ZERO, alias="minSyncPeriod", validate_default=True)


class KubeProxyIPVS(K0sModel):
    k0s_always = frozenset({"syncPeriod", "minSyncPeriod", "tcpTimeout", "tcpFinTimeout", "udpTimeout"})

    sync_period: Duration = Field(ZERO, alias="syncPeriod", validate_default=True)
    min_sync_period: Duration = Field(ZERO, alias="minSyncPeriod", validate_default=True)
    scheduler: str = ""
    exclude_cidrs: list[str] = Field(default_factory=list, alias="excludeCIDRs")
    strict_arp: bool = Field(False, alias="strictARP")
    tcp_timeout: Duration = Field(ZERO, alias="tcpTimeout", validate_default=True)
    tcp_fin_timeout: Duration = Field(ZERO, alias="tcpFinTimeout", validate_default=True)
    udp_timeout: Duration = Field(ZERO, alias="udpTimeout", validate_default=True)


class KubeProxyNFTables(K0sModel):
    k0s_always = frozenset({"syncPeriod", "minSyncPeriod"})

    sync_period: Duration = Field(ZERO, alias="syncPeriod", validate_default=True)
    masquerade_bit: Int32 | None = Field(None, alias="masqueradeBit")
    masquerade_all: bool = Field(False, alias="masqueradeAll")
    min_sync_period: Duration = Field(ZERO, alias="minSyncPeriod", validate_default=True)


class KubeProxy(K0sModel):
    k0s_always = frozenset({"iptables", "ipvs", "nftables"})

    disabled: bool = False
    mode: str = "iptables"
    metrics_bind_address: str = Field("0.0.0.0:10249", alias="metricsBindAddress")
    healthz_bind_address: str = Field("0.0.0.0:10256", alias="healthzBindAddress")
    iptables: KubeProxyIPTables = Field(default_factory=KubeProxyIPTables)
    ipvs: KubeProxyIPVS = Field(default_factory=KubeProxyIPVS)
    nftables: KubeProxyNFTables = Field(default_factory=KubeProxyNFTables)
    node_port_addresses: list[str] = Field(default_factory=list, alias="nodePortAddresses")
    extra_args: StrMap = Field(default_factory=dict, alias="extraArgs")
    raw_args: list[str] = Field(default_factory=list, alias="rawArgs")
    patches: list[Patch] = Field(default_factory=list)


class KubeRouter(K0sModel):
    k0s_always = frozenset({"autoMTU"})

    auto_mtu: bool | None = Field(True, alias="autoMTU")
    mtu: int = 0
    metrics_port: int = Field(8080, alias="metricsPort")
    hairpin: str = "Enabled"
    hairpin_mode: bool = Field(False, alias="hairpinMode")
    ip_masq: bool = Field(False, alias="ipMasq")
    peer_router_asns: str = Field("", alias="peerRouterASNs")
    peer_router_ips: str = Field("", alias="peerRouterIPs")
    extra_args: StrMap = Field(default_factory=dict, alias="extraArgs")
    raw_args: list[str] = Field(default_factory=list, alias="rawArgs")
    patches: list[Patch] = Field(default_factory=list)

    def is_auto_mtu(self) -> bool:
        return self.auto_mtu is None or self.auto_mtu


class Calico(K0sModel):
    k0s_custom_decoder = True

    enable_wireguard: bool = Field(False, alias="wireguard")
    env_vars: StrMap = Field(default_factory=dict, alias="envVars")
    flex_volume_driver_path: str = Field(CALICO_FLEX_PATH_DECODED, alias="flexVolumeDriverPath")
    ip_autodetection_method: str = Field("", alias="ipAutodetectionMethod")
    ipv6_autodetection_method: str = Field("", alias="ipV6AutodetectionMethod")
    mtu: int = 1450
    mode: str = "vxlan"
    overlay: str = "Always"
    vxlan_port: int = Field(4789, alias="vxlanPort")
    vxlan_vni: int = Field(4096, alias="vxlanVNI")
    patches: list[Patch] = Field(default_factory=list)


class CoreDNS(K0sModel):
    patches: list[Patch] = Field(default_factory=list)


class Network(K0sModel):
    k0s_custom_decoder = True
    k0s_always = frozenset({"dualStack"})

    calico: Calico | None = None
    dual_stack: DualStack = Field(default_factory=DualStack, alias="dualStack")
    kube_proxy: KubeProxy = Field(default_factory=KubeProxy, alias="kubeProxy")
    kuberouter: KubeRouter | None = Field(default_factory=KubeRouter)
    core_dns: CoreDNS | None = Field(None, alias="coreDNS")
    node_local_load_balancing: NodeLocalLoadBalancing = Field(
        default_factory=NodeLocalLoadBalancing, alias="nodeLocalLoadBalancing"
    )
    control_plane_load_balancing: ControlPlaneLoadBalancing | None = Field(
        None, alias="controlPlaneLoadBalancing"
    )
    pod_cidr: str = Field("10.244.0.0/16", alias="podCIDR")
    provider: str = "kuberouter"
    service_cidr: str = Field("10.96.0.0/12", alias="serviceCIDR")
    cluster_domain: str = Field("cluster.local", alias="clusterDomain")
    primary_address_family: str = Field("", alias="primaryAddressFamily")

    def is_single_stack_ipv6(self) -> bool:
        import ipaddress

        if self.dual_stack.enabled:
            return False
        try:
            return ipaddress.ip_network(self.pod_cidr, strict=False).version == 6
        except ValueError:
            return False
