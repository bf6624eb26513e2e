"""Everything the PKI needs from the cluster config, as one frozen value.

The PKI never reads YAML or the pydantic model directly: `PKISettings.from_cluster_config` copies the few
fields it uses, so tests build a `PKISettings` by hand and the PKI code does not change when the config
model does.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlunsplit

DEFAULT_CA_VALIDITY = timedelta(hours=87600)
DEFAULT_CERT_VALIDITY = timedelta(hours=8760)


def _host_port(host: str, port: int) -> str:
    """host:port with IPv6 literals bracketed, as Go's net.JoinHostPort."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def split_external_address(external: str) -> tuple[str, int | None]:
    """`host[:port]` (IPv6 bracketed when a port is given) -> (host, port or None), as k0s's ExternalHost."""
    if not external:
        return "", None
    if external.startswith("["):
        host, _, rest = external[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if external.count(":") == 1:
        host, _, port = external.partition(":")
        if port.isdigit():
            return host, int(port)
    return external, None


@dataclass(frozen=True)
class PKISettings:
    """The inputs of the PKI: API endpoint, SANs, service network, etcd peer, validities, options."""

    api_address: str = "127.0.0.1"
    api_port: int = 6443
    sans: tuple[str, ...] = ()
    external_address: str = ""
    only_bind_to_address: bool = False
    service_cidrs: tuple[str, ...] = ("10.96.0.0/12",)
    cluster_domain: str = "cluster.local"
    etcd_peer_address: str = "127.0.0.1"
    ca_validity: timedelta = DEFAULT_CA_VALIDITY
    cert_validity: timedelta = DEFAULT_CERT_VALIDITY
    etcd_ca_validity: timedelta = DEFAULT_CA_VALIDITY
    etcd_cert_validity: timedelta = DEFAULT_CERT_VALIDITY
    konnectivity_enabled: bool = True
    storage_type: str = "etcd"
    external_etcd: bool = False
    cplb_vips: tuple[str, ...] = ()

    @property
    def runs_etcd(self) -> bool:
        """Whether this controller runs its own etcd and so needs the etcd certificate set."""
        return self.storage_type == "etcd" and not self.external_etcd

    @property
    def external_host(self) -> str:
        return split_external_address(self.external_address)[0]

    def local_url(self) -> str:
        """The URL components on this node use: localhost, or the api address with onlyBindToAddress."""
        host = _host_port(self.api_address, self.api_port) if self.only_bind_to_address \
            else f"localhost:{self.api_port}"
        return urlunsplit(("https", host, "", "", ""))

    def api_address_url(self) -> str:
        """The URL given to operators (`kubeconfig admin|create`): externalAddress or address."""
        host, port = split_external_address(self.external_address)
        if host and port is not None:
            return urlunsplit(("https", self.external_address, "", "", ""))
        return urlunsplit(("https", _host_port(host or self.api_address, self.api_port), "", "", ""))

    @classmethod
    def from_cluster_config(cls, cfg: Any, *, konnectivity_enabled: bool = True) -> PKISettings:
        """Copy the PKI's inputs out of a loaded ClusterConfig (`k0spy.config`)."""
        spec = cfg.spec
        api, network, storage = spec.api, spec.network, spec.storage
        cidrs = [str(network.service_cidr)]
        dual = getattr(network, "dual_stack", None)
        if dual is not None and dual.enabled and dual.ipv6_service_cidr:
            cidrs.append(str(dual.ipv6_service_cidr))
        etcd = storage.etcd
        etcd_ca = getattr(etcd, "ca", None)
        return cls(
            api_address=str(api.address),
            api_port=int(api.port),
            sans=tuple(str(san) for san in (api.sans or ())),
            external_address=str(api.external_address or ""),
            only_bind_to_address=bool(api.only_bind_to_address),
            service_cidrs=tuple(cidrs),
            cluster_domain=str(network.cluster_domain),
            etcd_peer_address=str(getattr(etcd, "peer_address", None) or api.address),
            ca_validity=api.ca.expires_after,
            cert_validity=api.ca.certificates_expire_after,
            etcd_ca_validity=etcd_ca.expires_after if etcd_ca is not None else DEFAULT_CA_VALIDITY,
            etcd_cert_validity=(etcd_ca.certificates_expire_after if etcd_ca is not None
                                else DEFAULT_CERT_VALIDITY),
            konnectivity_enabled=konnectivity_enabled,
            storage_type=str(storage.type),
            external_etcd=bool(etcd.is_external()) if hasattr(etcd, "is_external") else False,
            cplb_vips=_cplb_vips(network),
        )


def _cplb_vips(network: Any) -> tuple[str, ...]:
    """The keepalived virtual IPs (CIDR notation in the config), which k0s adds to the API SANs."""
    cplb = getattr(network, "control_plane_load_balancing", None)
    if cplb is None or not cplb.enabled or cplb.keepalived is None:
        return ()
    vips = [vip for instance in cplb.keepalived.vrrp_instances for vip in (instance.virtual_ips or ())]
    return tuple(str(ipaddress.ip_interface(vip).ip) for vip in vips)


def first_service_ip(cidr: str) -> str:
    """The first usable address of a service CIDR (`10.96.0.0/12` -> `10.96.0.1`): the kubernetes Service."""
    network = ipaddress.ip_network(cidr, strict=False)
    return str(network.network_address + 1)
