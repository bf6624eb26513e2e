"""Node-local and control-plane load balancing (k0s nllb.go, cplb.go)."""

from __future__ import annotations

from pydantic import Field

from k0spy.config.model_base import Duration, Int32, K0sModel, Uint32
from k0spy.config.model_images import ENVOY_PROXY, TRAEFIK, ImageSpec, image


class EnvoyProxy(K0sModel):
    """Also the shape of `traefik`; the image defaults differ."""

    k0s_custom_decoder = True
    k0s_always = frozenset({"konnectivityServerBindPort"})

    image: ImageSpec | None = None
    image_pull_policy: str = Field("", alias="imagePullPolicy")
    api_server_bind_port: Int32 = Field(7443, alias="apiServerBindPort")
    konnectivity_server_bind_port: Int32 | None = Field(7132, alias="konnectivityServerBindPort")


class Traefik(EnvoyProxy):
    pass


class NodeLocalLoadBalancing(K0sModel):
    k0s_custom_decoder = True
    k0s_always = frozenset({"enabled"})

    enabled: bool = False
    type: str = "EnvoyProxy"
    envoy_proxy: EnvoyProxy | None = Field(
        default_factory=lambda: EnvoyProxy(image=image(ENVOY_PROXY)), alias="envoyProxy"
    )
    traefik: Traefik | None = None

    def is_enabled(self) -> bool:
        return self.enabled


NLLB_IMAGE_DEFAULTS = {"envoyProxy": ENVOY_PROXY, "traefik": TRAEFIK}


class VRRPInstance(K0sModel):
    k0s_always = frozenset({"virtualIPs", "authPass"})

    virtual_ips: list[str] | None = Field(None, alias="virtualIPs")
    interface: str = ""
    virtual_router_id: Int32 = Field(0, alias="virtualRouterID")
    advert_interval_seconds: Int32 = Field(0, alias="advertIntervalSeconds")
    auth_pass: str = Field("", alias="authPass")
    unicast_peers: list[str] = Field(default_factory=list, alias="unicastPeers")
    unicast_source_ip: str = Field("", alias="unicastSourceIP")
    address_label: Uint32 = Field(0, alias="addressLabel")


class VirtualServer(K0sModel):
    k0s_always = frozenset({"ipAddress", "delayLoop"})

    ip_address: str = Field("", alias="ipAddress")
    delay_loop: Duration = Field("0s", alias="delayLoop", validate_default=True)
    lb_algo: str = Field("", alias="lbAlgo")
    lb_kind: str = Field("", alias="lbKind")
    persistence_timeout_seconds: int = Field(0, alias="persistenceTimeoutSeconds")


class Keepalived(K0sModel):
    vrrp_instances: list[VRRPInstance] = Field(default_factory=list, alias="vrrpInstances")
    virtual_servers: list[VirtualServer] = Field(default_factory=list, alias="virtualServers")
    user_space_proxy_port: int = Field(0, alias="userSpaceProxyBindPort")
    disable_load_balancer: bool = Field(False, alias="disableLoadBalancer")
    config_template_vrrp: str = Field("", alias="configTemplateVRRP")
    config_template_vs: str = Field("", alias="configTemplateVS")


class ControlPlaneLoadBalancing(K0sModel):
    k0s_always = frozenset({"enabled"})

    enabled: bool = False
    type: str = ""
    keepalived: Keepalived | None = None
