"""The inventory table: names, subjects, owners and SAN sources as k0s's §4.2 table lists them."""

from __future__ import annotations

from k0spy.fsutil import CERT_SECURE_MODE, OWNER_ONLY_MODE
from k0spy.pki.leaf import LEAVES, inventory
from k0spy.pki.settings import PKISettings

SANS = ["kubernetes", "localhost", "127.0.0.1", "10.96.0.1"]


def rows(settings: PKISettings, **kwargs: bool) -> dict[str, tuple[str, str, str, str]]:
    return {spec.name: (spec.cn, spec.org, spec.issuer.cn, spec.owner)
            for spec in inventory(settings, SANS, **kwargs)}


def test_full_inventory_matches_the_k0s_table() -> None:
    assert rows(PKISettings(etcd_peer_address="10.0.0.7")) == {
        "front-proxy-client": ("front-proxy-client", "front-proxy-client", "kubernetes-front-proxy-ca",
                               "kube-apiserver"),
        "admin": ("kubernetes-admin", "system:masters", "kubernetes-ca", "root"),
        "konnectivity": ("kubernetes-konnectivity", "system:masters", "kubernetes-ca", "konnectivity-server"),
        "ccm": ("system:kube-controller-manager", "system:kube-controller-manager", "kubernetes-ca",
                "kube-apiserver"),
        "scheduler": ("system:kube-scheduler", "system:kube-scheduler", "kubernetes-ca", "kube-scheduler"),
        "apiserver-kubelet-client": ("apiserver-kubelet-client", "system:masters", "kubernetes-ca",
                                     "kube-apiserver"),
        "server": ("kubernetes", "kubernetes", "kubernetes-ca", "kube-apiserver"),
        "k0s-api": ("k0s-api", "kubernetes", "kubernetes-ca", "kube-apiserver"),
        "apiserver-etcd-client": ("apiserver-etcd-client", "apiserver-etcd-client", "etcd-ca",
                                  "kube-apiserver"),
        "etcd/server": ("etcd-server", "etcd-server", "etcd-ca", "etcd"),
        "etcd/peer": ("10.0.0.7", "etcd-peer", "etcd-ca", "etcd"),
    }


def test_hosts_per_leaf() -> None:
    specs = {spec.name: spec.hosts for spec in inventory(PKISettings(etcd_peer_address="10.0.0.7"), SANS)}
    assert specs["server"] == specs["k0s-api"] == tuple(SANS)
    assert specs["etcd/server"] == specs["apiserver-etcd-client"] == ("127.0.0.1", "localhost")
    assert specs["etcd/peer"] == ("10.0.0.7",)
    assert specs["admin"] == ()


def test_kine_and_disabled_konnectivity_shrink_the_inventory() -> None:
    names = set(rows(PKISettings(storage_type="kine", konnectivity_enabled=False)))
    assert "konnectivity" not in names
    assert not {"etcd/server", "etcd/peer", "apiserver-etcd-client"} & names


def test_etcd_selector_splits_the_sets() -> None:
    assert set(rows(PKISettings(), etcd=True)) == {"etcd/server", "etcd/peer", "apiserver-etcd-client"}
    assert "etcd/server" not in rows(PKISettings(), etcd=False)


def test_kubeconfig_modes() -> None:
    modes = {row.kubeconfig: row.kubeconfig_mode for row in LEAVES if row.kubeconfig}
    assert modes == {"admin.conf": OWNER_ONLY_MODE, "ccm.conf": OWNER_ONLY_MODE,
                     "scheduler.conf": OWNER_ONLY_MODE, "konnectivity.conf": CERT_SECURE_MODE}
