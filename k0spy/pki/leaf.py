"""The k0s certificate inventory as a table: one row per leaf, everything about it in one place.

Each row says which CA signs it, its CN and O, where its SANs come from, which user owns the files,
which kubeconfig embeds it and which components read it (the last column drives renewal without a restart:
renewing a leaf restarts exactly those components). `inventory()` turns the rows into concrete specs for
one settings value and one SAN list.
"""

from __future__ import annotations

from dataclasses import dataclass

from k0spy.fsutil import CERT_SECURE_MODE, OWNER_ONLY_MODE
from k0spy.pki.ca import CASpec
from k0spy.pki.settings import PKISettings
from k0spy.pki.users import APISERVER_USER, ETCD_USER, KONNECTIVITY_USER, ROOT, SCHEDULER_USER

KUBE_CA = CASpec("ca", "kubernetes-ca", key_owner=APISERVER_USER)
FRONT_PROXY_CA = CASpec("front-proxy-ca", "kubernetes-front-proxy-ca")
ETCD_CA = CASpec("etcd/ca", "etcd-ca", etcd=True, key_owner=ETCD_USER, cert_owner=ETCD_USER)
CAS = (KUBE_CA, FRONT_PROXY_CA, ETCD_CA)
K0S_CA_NAMES = frozenset(ca.cn for ca in CAS)

# Where a row's SANs come from.
NO_HOSTS = "none"
API_SANS = "api"  # the SAN list of sans.build_san_list
LOOPBACK = "loopback"  # 127.0.0.1, localhost
PEER = "peer"  # storage.etcd.peerAddress


@dataclass(frozen=True)
class LeafSpec:
    """One leaf: files `<name>.crt/.key` under the pki dir; `hosts` filled in by `inventory`."""

    name: str
    cn: str
    org: str
    issuer: CASpec
    owner: str
    hosts_from: str = NO_HOSTS
    kubeconfig: str | None = None
    kubeconfig_mode: int = OWNER_ONLY_MODE
    used_by: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()

    @property
    def etcd(self) -> bool:
        """Part of the etcd set (created when etcd starts, validity from storage.etcd.ca)."""
        return self.issuer.etcd


_K8S = "kube-apiserver"
_API = APISERVER_USER
_MASTERS = "system:masters"
_KCM = "system:kube-controller-manager"
# name, CN, O, issuer, owner, SAN source, kubeconfig, kubeconfig mode, components that read it
LEAVES: tuple[LeafSpec, ...] = (
    LeafSpec("front-proxy-client", "front-proxy-client", "front-proxy-client", FRONT_PROXY_CA, _API,
             used_by=(_K8S,)),
    LeafSpec("admin", "kubernetes-admin", _MASTERS, KUBE_CA, ROOT, kubeconfig="admin.conf",
             used_by=("k0spy",)),
    LeafSpec("konnectivity", "kubernetes-konnectivity", _MASTERS, KUBE_CA, KONNECTIVITY_USER,
             kubeconfig="konnectivity.conf", kubeconfig_mode=CERT_SECURE_MODE,
             used_by=("konnectivity-server",)),
    LeafSpec("ccm", _KCM, _KCM, KUBE_CA, _API, kubeconfig="ccm.conf", used_by=("kube-controller-manager",)),
    LeafSpec("scheduler", "system:kube-scheduler", "system:kube-scheduler", KUBE_CA, SCHEDULER_USER,
             kubeconfig="scheduler.conf", used_by=("kube-scheduler",)),
    LeafSpec("apiserver-kubelet-client", "apiserver-kubelet-client", _MASTERS, KUBE_CA, _API,
             used_by=(_K8S,)),
    LeafSpec("server", "kubernetes", "kubernetes", KUBE_CA, _API, API_SANS, used_by=(_K8S,)),
    LeafSpec("k0s-api", "k0s-api", "kubernetes", KUBE_CA, _API, API_SANS, used_by=("k0s-api",)),
    LeafSpec("apiserver-etcd-client", "apiserver-etcd-client", "apiserver-etcd-client", ETCD_CA, _API,
             LOOPBACK, used_by=(_K8S, "k0spy")),
    LeafSpec("etcd/server", "etcd-server", "etcd-server", ETCD_CA, ETCD_USER, LOOPBACK, used_by=("etcd",)),
    LeafSpec("etcd/peer", "", "etcd-peer", ETCD_CA, ETCD_USER, PEER, used_by=("etcd",)),
)

# Bare key pairs (`<name>.key` + `<name>.pub`), created once and kept.
KEY_PAIRS: tuple[tuple[str, str, bool], ...] = (("sa", APISERVER_USER, False), ("etcd/jwt", ETCD_USER, True))


def _hosts(source: str, settings: PKISettings, api_sans: list[str]) -> tuple[str, ...]:
    if source == API_SANS:
        return tuple(api_sans)
    if source == LOOPBACK:
        return ("127.0.0.1", "localhost")
    if source == PEER:
        return (settings.etcd_peer_address,)
    return ()


def inventory(settings: PKISettings, api_sans: list[str], *, etcd: bool | None = None) -> list[LeafSpec]:
    """The leaves to maintain: konnectivity only when enabled, the etcd set only when etcd runs here.

    `etcd=True/False` selects only the etcd set / only the rest (k0s creates the etcd set at etcd start).
    """
    out = []
    for row in LEAVES:
        if row.name == "konnectivity" and not settings.konnectivity_enabled:
            continue
        if row.etcd and not settings.runs_etcd:
            continue
        if etcd is not None and row.etcd != etcd:
            continue
        cn = row.cn or settings.etcd_peer_address
        out.append(LeafSpec(row.name, cn, row.org, row.issuer, row.owner, row.hosts_from, row.kubeconfig,
                            row.kubeconfig_mode, row.used_by, _hosts(row.hosts_from, settings, api_sans)))
    return out


def find(name: str) -> LeafSpec:
    for row in LEAVES:
        if row.name == name:
            return row
    raise KeyError(name)
